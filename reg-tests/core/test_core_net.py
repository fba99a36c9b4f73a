"""Addresses, logging, keep-alive and fd exhaustion."""
import datetime
import os
import shutil
import socket
import subprocess
import time

import pytest

from lib.client import (ask_id, connect, read_line, close_gracefully)
from lib.config import config
from lib.env import ASAN, tmo
from lib.ports import free_port, ipv6_available
from lib.sluice import cpu_seconds

needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="no ::1")


@needs_ipv6
@pytest.mark.parametrize("form", ["brackets", "bare"])
def test_ipv6_bind_and_server(sluice, servers, port, form):
    """bind [::1]:P (or ::1:P) to a server on ::1; the log shows ::1."""
    s1 = servers.ident("s1", host="::1")
    fe = free_port(socket.AF_INET6)
    if form == "brackets":
        bind, srv = f"[::1]:{fe}", f"[::1]:{s1.port}"
    else:
        bind, srv = f"::1:{fe}", f"::1:{s1.port}"
    sl = sluice(config(f"""
        listen lb
            bind {bind}
            server s1 {srv}
        """), ports=[fe])
    c = connect(fe, host="::1")
    try:
        assert read_line(c) == "s1"
        cport = c.getsockname()[1]
        close_gracefully(c)
    finally:
        c.close()
    rec = sl.session_for(cport)
    assert rec["ci"] == "::1", rec.raw


def test_bind_several_addresses(sluice, servers, port):
    """"bind A,B" and a second "bind" line: all three accept."""
    s1 = servers.ident("s1")
    p1, p2, p3 = port(), port(), port()
    sl = sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{p1},127.0.0.1:{p2}
            bind 127.0.0.1:{p3}
            default_backend be
        backend be
            server s1 {s1.addr}
        """), ports=[p1, p2, p3])
    assert [ask_id(p) for p in (p1, p2, p3)] == ["s1"] * 3
    recs = sl.wait_sessions(3)
    assert {r["ft"] for r in recs} == {"fe"}


def test_tcplog_line_format(sluice, servers, port):
    """One tcplog line per session with the documented fields."""
    echo = servers.echo()
    fe = port()
    sl = sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be
        backend be
            server s1 {echo.addr}
        """), ports=[fe])
    before = datetime.datetime.now().replace(microsecond=0)
    cports = []
    for _ in range(3):
        c = connect(fe)
        try:
            c.sendall(b"hello")
            assert c.recv(5) == b"hello"
            cports.append(c.getsockname()[1])
            close_gracefully(c)
        finally:
            c.close()
    after = datetime.datetime.now() + datetime.timedelta(seconds=1)
    recs = sl.wait_sessions(3)
    time.sleep(0.2)
    recs = sl.sessions()
    assert len(recs) == 3, [r.raw for r in recs]
    assert sorted(r.num("cp") for r in recs) == sorted(cports)
    for r in recs:
        assert r["ci"] == "127.0.0.1"
        assert (r["ft"], r["b"], r["s"]) == ("fe", "be", "s1"), r.raw
        assert r["ts"] == "--", r.raw
        assert r.num("B") == 5, f"%B is bytes server->client: {r.raw}"
        assert r.num("Tw") == 0 and r.num("Tc") >= 0, r.raw
        assert r.num("Tt") >= r.num("Tc"), r.raw
        assert r["rc"] == "0" and (r["sq"], r["bq"]) == ("0", "0"), r.raw
        t = datetime.datetime.strptime(r["t"], "%d/%b/%Y:%H:%M:%S.%f")
        assert before <= t <= after, f"%t is the local accept date: {r.raw}"


def test_dontlognull(sluice, servers, port):
    """A connection that exchanged nothing is not logged with
    dontlognull, and is logged without it."""
    hold = servers.hold()
    quiet, loud = port(), port()
    sl = sluice(config(f"""
        listen quiet
            bind 127.0.0.1:{quiet}
            option dontlognull
            server s1 {hold.addr}
        listen loud
            bind 127.0.0.1:{loud}
            server s1 {hold.addr}
        """, server="300ms"), ports=[quiet, loud])
    for p in (quiet, loud):
        connect(p).close()
    time.sleep(0.3)
    for p in (quiet, loud):
        c = connect(p)
        c.sendall(b"x")  # the server never answers: sD after 300ms
        time.sleep(0.05)
        c.close()
    sl.wait_sessions(3, timeout=3)
    time.sleep(0.5)
    recs = sl.sessions()
    by_fe = {"quiet": [r for r in recs if r["ft"] == "quiet"],
             "loud": [r for r in recs if r["ft"] == "loud"]}
    assert len(by_fe["quiet"]) == 1, [r.raw for r in recs]
    assert len(by_fe["loud"]) == 2, [r.raw for r in recs]


def _keepalive_inodes():
    """inode -> True if that TCP socket has a keepalive timer (ss -o)."""
    out = subprocess.run(["ss", "-tnoeH", "state", "established"],
                         capture_output=True, text=True, timeout=10).stdout
    res = {}
    for ln in out.splitlines():
        for tok in ln.split():
            if tok.startswith("ino:"):
                res[tok[4:]] = "timer:(keepalive" in ln
    return res


def _sluice_socket_inodes(pid):
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            found.add(link[8:-1])
    return found


def _sides(pid, fe, srv_port):
    """(client-side inodes, server-side inodes) of sluice's sockets."""
    out = subprocess.run(["ss", "-tneH", "state", "established"],
                         capture_output=True, text=True, timeout=10).stdout
    mine = _sluice_socket_inodes(pid)
    cli, srv = set(), set()
    for ln in out.splitlines():
        f = ln.split()
        ino = next((t[4:] for t in f if t.startswith("ino:")), None)
        if ino not in mine:
            continue
        local, peer = f[2], f[3]
        if local.endswith(f":{fe}"):
            cli.add(ino)
        elif peer.endswith(f":{srv_port}"):
            srv.add(ino)
    return cli, srv


@pytest.mark.parametrize("opt,cli_ka,srv_ka", [
    ("tcpka", True, True),
    ("clitcpka", True, False),
    ("srvtcpka", False, True),
])
def test_tcp_keepalive_options(sluice, servers, port, opt, cli_ka, srv_ka):
    """option tcpka/clitcpka/srvtcpka are accepted and set SO_KEEPALIVE on
    the side(s) they name (seen as a keepalive timer in `ss -o`)."""
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            option {opt}
            server s1 {s1.addr}
        """), ports=[fe])
    c = connect(fe)
    try:
        assert read_line(c) == "s1"
        if not shutil.which("ss"):
            return
        cli, srv = _sides(sl.pid, fe, s1.port)
        assert len(cli) == 1 and len(srv) == 1, (cli, srv)
        ka = _keepalive_inodes()
        assert ka.get(next(iter(cli))) == cli_ka, f"client side, {opt}"
        assert ka.get(next(iter(srv))) == srv_ka, f"server side, {opt}"
    finally:
        c.close()


def _try_echo(fe, msg, timeout=1.0):
    try:
        c = connect(fe, timeout=timeout)
    except OSError:
        return False
    try:
        c.sendall(msg)
        c.settimeout(tmo(timeout))
        return c.recv(len(msg)) == msg
    except OSError:
        return False
    finally:
        c.close()


def _open_nb(fe, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", fe))
        socks.append(s)
    return socks


def test_emfile_survives_and_recovers(sluice, servers, port):
    """sluice limited to 64 fds, maxconn far above: flood it with 100
    connections. It must stay up, not spin, and serve again once they
    close (HAProxy pauses accepting on EMFILE and retries later)."""
    echo = servers.echo()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {echo.addr}
        """, maxconn=1000, global_extra="nbthread 2"),
        ports=[fe], nofile=64)
    flood = _open_nb(fe, 100)
    try:
        time.sleep(0.5)
        for s in flood:
            try:
                s.send(b"x")
            except OSError:
                pass
        time.sleep(0.3)
        assert sl.alive(), "sluice died when out of file descriptors"
        if not ASAN:
            t0, c0 = time.monotonic(), cpu_seconds(sl.pid)
            time.sleep(1.0)
            used = (cpu_seconds(sl.pid) - c0) / (time.monotonic() - t0)
            assert used < 0.5, f"busy-looping on EMFILE: {used:.0%} CPU"
    finally:
        for s in flood:
            s.close()
    deadline = time.monotonic() + tmo(10)
    while not _try_echo(fe, b"again\n"):
        assert time.monotonic() < deadline, "not serving after the flood"
        time.sleep(0.2)
    for i in range(5):
        assert _try_echo(fe, f"ok {i}\n".encode(), 3)
    assert sl.alive()


def test_default_log_format_connect_line(sluice, servers, port):
    """Without option tcplog or log-format, HAProxy's default format logs
    "Connect from CLIENT to FRONTEND-ADDR (fe/TCP)" at accept, with the
    address and port the client actually reached."""
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(config(f"""
        listen plain
            bind 127.0.0.1:{fe}
            no option tcplog
            server s1 {s1.addr}
        """), ports=[fe])
    c = connect(fe)
    assert read_line(c) == "s1"
    cport = c.getsockname()[1]
    c.close()
    want = f"Connect from 127.0.0.1:{cport} to 127.0.0.1:{fe} (plain/TCP)"
    deadline = time.monotonic() + tmo(3)
    while time.monotonic() < deadline and not any(want in ln for ln in sl.log_lines()):
        time.sleep(0.05)
    assert any(want in ln for ln in sl.log_lines()), sl.log_lines()
