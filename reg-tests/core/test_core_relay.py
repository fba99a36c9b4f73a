"""The data path: half-close both ways, big transfers (with and without
splice), a server that speaks first, and 2000 concurrent connections."""
import hashlib
import resource
import selectors
import socket
import struct
import time

import pytest

from lib.client import (connect, read_exact, read_line, read_to_eof,
                        send_all_then_shut, duplex_transfer, payload,
                        close_gracefully)
from lib.config import config
from lib.env import tmo

MB = 1 << 20
BIG = 50 * MB
_data = {}


def big_payload():
    if "big" not in _data:
        _data["big"] = payload(BIG, seed=2)
        _data["sha"] = hashlib.sha256(_data["big"]).hexdigest()
    return _data["big"], _data["sha"]


def _listen(sluice, port, addr, opts="", glob=""):
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
        {opts}
            server s1 {addr}
        """, global_extra=glob), ports=[fe])
    return fe, sl


def test_half_close_client_to_server(sluice, servers, port):
    """The client shuts its write side: the server sees EOF and its reply
    still reaches the client."""
    sink = servers.sink()
    fe, sl = _listen(sluice, port, sink.addr)
    msg = b"request body\n" * 100
    c = connect(fe)
    cport = c.getsockname()[1]
    try:
        send_all_then_shut(c, msg)
        reply = read_to_eof(c).decode()
    finally:
        c.close()
    assert reply == f"{hashlib.sha256(msg).hexdigest()} {len(msg)}\n"
    assert sl.session_for(cport)["ts"] == "--"


def test_half_close_server_to_client(sluice, servers, port):
    """The server shuts its write side: the client reads EOF, and what the
    client sends afterwards still reaches the server."""
    hc = servers.halfclose(b"bye\n")
    fe, sl = _listen(sluice, port, hc.addr)
    c = connect(fe)
    try:
        assert read_to_eof(c, 3) == b"bye\n"
        c.sendall(b"late data\n")
        c.shutdown(socket.SHUT_WR)
        assert hc.got_eof.wait(tmo(3)), "server never saw the client's FIN"
        assert hc.received == [b"late data\n"]
        cport = c.getsockname()[1]
    finally:
        c.close()
    assert sl.session_for(cport)["ts"] == "--"


SPLICE = {
    "default": ("", ""),
    "splice-auto": ("    option splice-auto", ""),
    "splice-req-rsp": ("    option splice-request\n"
                       "            option splice-response", ""),
    "nosplice": ("    option splice-auto", "nosplice"),
}


@pytest.mark.parametrize("mode", list(SPLICE))
def test_50mb_upload(sluice, servers, port, mode):
    data, sha = big_payload()
    sink = servers.sink()
    opts, glob = SPLICE[mode]
    fe, sl = _listen(sluice, port, sink.addr, opts, glob)
    c = connect(fe, timeout=60)
    cport = c.getsockname()[1]
    try:
        send_all_then_shut(c, data)
        reply = read_to_eof(c, 60).decode()
    finally:
        c.close()
    assert reply == f"{sha} {BIG}\n"
    rec = sl.session_for(cport)
    assert rec["ts"] == "--" and rec.num("B") == len(reply), rec.raw


@pytest.mark.parametrize("mode", list(SPLICE))
def test_50mb_download(sluice, servers, port, mode):
    data, sha = big_payload()
    src = servers.source(data)
    opts, glob = SPLICE[mode]
    fe, sl = _listen(sluice, port, src.addr, opts, glob)
    c = connect(fe, timeout=60)
    try:
        got = read_to_eof(c, 60)
        cport = c.getsockname()[1]
    finally:
        c.close()
    assert len(got) == BIG
    assert hashlib.sha256(got).hexdigest() == sha
    rec = sl.session_for(cport)
    assert rec["ts"] == "--" and rec.num("B") == BIG, rec.raw


@pytest.mark.parametrize("mode", ["default", "splice-auto", "nosplice"])
def test_50mb_both_ways_at_once(sluice, servers, port, mode):
    """50 MB up and the same 50 MB echoed down, concurrently."""
    data, sha = big_payload()
    echo = servers.echo()
    opts, glob = SPLICE[mode]
    fe, _ = _listen(sluice, port, echo.addr, opts, glob)
    assert duplex_transfer(fe, data, timeout=60) == (sha, BIG)


def test_server_speaks_first(sluice, servers, port):
    """An SSH-like server's banner reaches a client that sent nothing."""
    banner = servers.banner(b"SSH-2.0-test\r\n")
    fe, sl = _listen(sluice, port, banner.addr)
    c = connect(fe)
    try:
        assert read_exact(c, 14, 2) == b"SSH-2.0-test\r\n"
        c.sendall(b"SSH-2.0-client\r\n")
        assert read_exact(c, 16) == b"SSH-2.0-client\r\n"
        cport = c.getsockname()[1]
        close_gracefully(c)
    finally:
        c.close()
    assert sl.session_for(cport)["ts"] == "--"


N_CONC = 2000


def _need_fds(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n:
        pytest.skip(f"needs {n} open files, RLIMIT_NOFILE is {soft}/{hard}")


def _open_many(fe, n, deadline):
    """n non-blocking connections to fe, all established (or fail)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", fe))
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE)
    pending = len(socks)
    while pending:
        left = deadline - time.monotonic()
        assert left > 0, f"{pending} of {n} connections not established"
        for key, _ in sel.select(min(left, 0.5)):
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            assert err == 0, f"connect failed: {err}"
            sel.unregister(key.fileobj)
            pending -= 1
    sel.close()
    return socks


def _echo_all(socks, deadline):
    """Send a distinct line on each socket and read it back on each."""
    want = {s: f"conn-{i}\n".encode() for i, s in enumerate(socks)}
    for s, msg in want.items():
        s.send(msg)
    got = {s: b"" for s in socks}
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    left_n = len(socks)
    while left_n:
        left = deadline - time.monotonic()
        assert left > 0, f"{left_n} of {len(socks)} echoes missing"
        for key, _ in sel.select(min(left, 0.5)):
            s = key.fileobj
            data = s.recv(64)
            assert data, "connection closed before its echo"
            got[s] += data
            if len(got[s]) >= len(want[s]):
                assert got[s] == want[s]
                sel.unregister(s)
                left_n -= 1
    sel.close()


def test_2000_concurrent_connections(sluice, servers, port):
    _need_fds(2 * N_CONC + 200)
    echo = servers.echo()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {echo.addr}
        """, maxconn=N_CONC + 100), ports=[fe])
    deadline = time.monotonic() + tmo(30)
    socks = []
    try:
        socks = _open_many(fe, N_CONC, deadline)
        _echo_all(socks, deadline)
        assert echo.peak >= N_CONC, f"only {echo.peak} at once on the server"
    finally:
        for s in socks:
            s.close()
    recs = sl.wait_sessions(N_CONC, timeout=15)
    assert len(recs) == N_CONC, "one log line per session"
    assert sl.alive()
    c = connect(fe)
    try:
        c.sendall(b"after\n")
        assert read_line(c) == "after"
    finally:
        c.close()


def test_client_vanishing_mid_transfer(sluice, servers, port):
    """Clients that reset mid-transfer don't disturb the next ones."""
    data, _ = big_payload()
    src = servers.source(data[:8 * MB])
    fe, sl = _listen(sluice, port, src.addr)
    for _ in range(5):
        c = connect(fe)
        c.recv(65536)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()  # RST with data in flight
    c = connect(fe)
    try:
        assert len(read_to_eof(c, 20)) == 8 * MB
    finally:
        c.close()
    assert sl.alive()
