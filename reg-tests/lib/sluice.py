"""Run the sluice binary under test.

Sluice(...).start() writes the configuration, starts `BIN -db -f cfg`, and
waits until every listed frontend port is in LISTEN state *in sluice's own
sockets* (read from /proc, never by connecting: a probe connection would
be a session, with a log line and a round-robin turn of its own).
stop() sends SIGTERM to that PID only, waits, SIGKILLs if it must, and
reports a crash, a hang or a sanitizer report as an AssertionError.
"""
import os
import pathlib
import signal
import subprocess
import sys
import time

from . import tcplog
from .env import BIN, SANITIZER_MARKERS, tmo, child_env

LOWFD_EXEC = str(pathlib.Path(__file__).with_name("lowfd_exec.py"))


def listening_ports(pid):
    """Ports on which process pid listens: TCP sockets in LISTEN state, and
    bound UDP sockets (mode udp frontends; any UDP socket of pid counts)."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    p = line.split()
                    if (p[3] == "0A" or table.startswith("udp")) and p[9] in inodes:
                        ports.add(int(p[1].rsplit(":", 1)[1], 16))
        except (OSError, StopIteration):
            continue
    return ports


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def sanitizer_lines(text):
    return [ln for ln in text.splitlines()
            if any(m in ln for m in SANITIZER_MARKERS)]


def run_bin(args, timeout=10.0, env=None):
    """Run BIN with args to completion: CompletedProcess (text)."""
    return subprocess.run([BIN, *args], capture_output=True, text=True,
                          timeout=tmo(timeout), env=child_env(env),
                          stdin=subprocess.DEVNULL)


def check_config(tmp_path, text, name="check.cfg", env=None):
    """Write text to tmp_path/name and run `BIN -c -f` on it:
    (path, CompletedProcess)."""
    path = tmp_path / name
    path.write_text(text)
    return path, run_bin(["-c", "-f", str(path)], env=env)


class Sluice:
    def __init__(self, cfg, workdir, ports=(), args=(), env=None,
                 nofile=None, name="sluice"):
        self.cfg_text = cfg
        self.workdir = pathlib.Path(workdir)
        self.ports = list(ports)
        self.args = list(args)
        self.env = env
        self.nofile = nofile
        self.name = name
        self.proc = None
        self.stopped = False
        self.cfg = self.workdir / f"{name}.cfg"
        self.out_path = self.workdir / f"{name}.stdout"
        self.err_path = self.workdir / f"{name}.stderr"

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=10.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cfg.write_text(self.cfg_text)
        argv = [BIN, "-db", "-f", str(self.cfg), *self.args]
        if self.nofile:
            argv = [sys.executable, LOWFD_EXEC, str(self.nofile), *argv]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL,
                                         env=child_env(self.env),
                                         cwd=self.workdir)
        self.wait_listening(self.ports, timeout)
        return self

    def wait_listening(self, ports, timeout=10.0):
        deadline = time.monotonic() + tmo(timeout)
        want = set(ports)
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"sluice exited with status {self.proc.returncode} "
                    f"during start-up\n{self.describe()}")
            missing = want - listening_ports(self.pid)
            if not missing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"sluice not listening on {sorted(missing)} after "
                    f"{tmo(timeout):.0f}s\n{self.describe()}")
            time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout(self):
        try:
            return self.out_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr(self):
        try:
            return self.err_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self, lines=40):
        """The tail of sluice's output, for assertion messages."""
        def tail(text):
            return "\n".join(text.splitlines()[-lines:])
        return (f"--- config {self.cfg}\n{self.cfg_text}\n"
                f"--- stderr (tail)\n{tail(self.stderr())}\n"
                f"--- stdout (tail)\n{tail(self.stdout())}")

    def log_lines(self):
        """Every line sluice wrote to stdout."""
        return self.stdout().splitlines()

    def sessions(self):
        """The tcplog lines, parsed (other lines are ignored)."""
        out = []
        for ln in self.log_lines():
            rec = tcplog.parse(ln)
            if rec is not None:
                out.append(rec)
        return out

    def wait_sessions(self, n, timeout=5.0, pred=None):
        """Wait until at least n tcplog lines (matching pred) exist."""
        deadline = time.monotonic() + tmo(timeout)
        while True:
            recs = [r for r in self.sessions() if pred is None or pred(r)]
            if len(recs) >= n or time.monotonic() > deadline:
                return recs
            time.sleep(0.02)

    def session_for(self, client_port, timeout=5.0):
        """The log line of the session from that client port."""
        recs = self.wait_sessions(
            1, timeout, lambda r: r.num("cp") == client_port)
        assert recs, (f"no log line for client port {client_port}\n"
                      f"{self.describe()}")
        return recs[0]

    def stop(self, timeout=5.0):
        """SIGTERM, bounded wait, SIGKILL; raise AssertionError when sluice
        had died by itself, ignored SIGTERM, or a sanitizer complained."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        problems = []
        if self.proc.poll() is not None:
            problems.append(f"sluice had exited by itself with status "
                            f"{self.proc.returncode} before the end of the test")
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(tmo(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                problems.append(f"sluice still running {tmo(timeout):.0f}s "
                                f"after SIGTERM: killed")
            rc = self.proc.returncode
            if rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM) and \
                    not problems:
                problems.append(f"sluice exited with status {rc} on SIGTERM")
        problems += self.sanitizer_problems()
        if problems:
            raise AssertionError("\n".join(problems) + "\n" + self.describe())

    def sanitizer_problems(self):
        found = sanitizer_lines(self.stderr())
        if not found:
            return []
        return ["sanitizer report in sluice's stderr:"] + found[:20]


class Daemon:
    """sluice started with -D: the launcher must exit 0 and leave a daemon
    whose PID is in the pidfile. Stopped by that PID."""

    def __init__(self, cfg, workdir, args):
        self.workdir = pathlib.Path(workdir)
        self.cfg = self.workdir / "daemon.cfg"
        self.cfg_text = cfg
        self.args = args
        self.pid = None

    def launch(self, timeout=10.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cfg.write_text(self.cfg_text)
        return run_bin(["-f", str(self.cfg), *self.args], timeout)

    def stop(self, timeout=5.0):
        """SIGTERM the daemon; True if it went away within timeout."""
        if not self.pid or not pid_alive(self.pid):
            return True
        if not self._is_ours(self.pid):
            return True
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + tmo(timeout)
        while time.monotonic() < deadline:
            if not pid_alive(self.pid):
                return True
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        return False

    @staticmethod
    def _is_ours(pid):
        """Only ever signal a process running our binary."""
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return False
        return os.path.realpath(BIN) == exe.removesuffix(" (deleted)")


__all__ = ["Sluice", "Daemon", "run_bin", "check_config", "listening_ports",
           "pid_alive", "cpu_seconds"]
