"""Master-worker mode: seamless reloads under load (nothing refused, an
established connection survives, new connections see the new config), a
broken config keeps the old worker, a reload storm, the master CLI, and a
worker crash seen and reported by the master."""
import os
import signal
import socket
import subprocess
import threading
import time

from lib.checksrv import wait_for, wait_log
from lib.client import ask_id, hold_id, read_line
from lib.config import config
from lib.env import tmo
from lib.sluice import BIN


def _cfg(fe, srv):
    return config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be
        backend be
            server s {srv.addr}
        """)


def master_cli(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(tmo(15))
    s.connect(str(path))
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


class Prober(threading.Thread):
    """Connects every 10 ms and records failures."""

    def __init__(self, fe):
        super().__init__(daemon=True)
        self.fe, self.ok, self.failed, self.names = fe, 0, [], set()
        self.stop = threading.Event()

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.names.add(ask_id(self.fe, timeout=3))
                self.ok += 1
            except (OSError, EOFError, TimeoutError) as e:
                self.failed.append(repr(e))
            time.sleep(0.01)


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_seamless_reload_storm(sluice, servers, port, tmp_path):
    a, b = servers.ident("a"), servers.ident("b")
    fe = port()
    mcli = tmp_path / "master.sock"
    sl = sluice(_cfg(fe, a), ports=[fe], args=["-W", "-S", str(mcli)])
    assert ask_id(fe) == "a"
    name, held = hold_id(fe)
    probe = Prober(fe)
    probe.start()
    for _ in range(10):            # a storm: ten reloads in a row
        os.kill(sl.pid, signal.SIGUSR2)
        time.sleep(0.15)
    time.sleep(1.0)
    sl.cfg.write_text(_cfg(fe, b))  # the new config sends to b
    assert "Success=1" in master_cli(mcli, "reload")
    assert wait_for(lambda: "b" in probe.names, 5)
    time.sleep(0.5)
    probe.stop.set()
    probe.join(10)
    assert not probe.failed, probe.failed[:5]
    assert probe.ok > 50
    held.sendall(b"still here\n")   # established before every reload
    assert read_line(held) == "still here"
    held.close()
    procs = master_cli(mcli, "show proc")
    assert "master" in procs and "worker" in procs, procs
    assert wait_for(lambda: len(_children(sl.pid)) == 1, 10), _children(sl.pid)


def test_broken_config_keeps_the_old_worker(sluice, servers, port, tmp_path):
    a = servers.ident("a")
    fe = port()
    mcli = tmp_path / "master.sock"
    sl = sluice(_cfg(fe, a), ports=[fe], args=["-W", "-S", str(mcli)])
    # the master listens before it forks: wait for the worker to serve
    assert wait_for(lambda: _try(fe), 10)
    worker = _children(sl.pid)
    assert len(worker) == 1
    sl.cfg.write_text(_cfg(fe, a) + "backend broken\n    frobnicate\n")
    out = master_cli(mcli, "reload")
    assert "Success=0" in out and "frobnicate" in out, out
    assert _children(sl.pid) == worker
    assert ask_id(fe) == "a"


def test_worker_crash_is_reported_by_the_master(servers, port, tmp_path):
    a = servers.ident("a")
    fe = port()
    cfg = tmp_path / "crash.cfg"
    cfg.write_text(_cfg(fe, a))
    out = open(tmp_path / "crash.out", "wb")
    proc = subprocess.Popen([BIN, "-W", "-db", "-f", str(cfg)], stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _children(proc.pid), 10)
        assert wait_for(lambda: _try(fe), 10)
        worker = _children(proc.pid)[0]
        os.kill(worker, signal.SIGKILL)
        rc = proc.wait(tmo(10))
        text = (tmp_path / "crash.out").read_text()
        assert f"({worker}) exited with code 137" in text, text
        assert rc != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        out.close()


def _try(fe):
    try:
        return ask_id(fe, timeout=1)
    except (OSError, EOFError, TimeoutError):
        return None
