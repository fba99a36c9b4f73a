"""Timeouts, retries and redispatch, with the termination state each one
leaves in the log (HAProxy's two-letter %ts)."""
import pytest

from lib.client import ask_id, connect, read_line, wait_closed
from lib.config import config
from lib.env import tmo


def _closed_between(sock, low, high):
    how, elapsed, _ = wait_closed(sock, tmo(high) + 2)
    assert how in ("eof", "reset"), f"still open after {elapsed:.2f}s"
    assert low <= elapsed <= tmo(high), f"closed after {elapsed:.2f}s"


def test_client_timeout(sluice, servers, port):
    """An idle client is closed after "timeout client", logged "cD"."""
    echo = servers.echo()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {echo.addr}
        """, client="500ms", server="10s"), ports=[fe])
    c = connect(fe)
    try:
        c.sendall(b"hi\n")
        assert read_line(c) == "hi"
        _closed_between(c, 0.35, 3)
        rec = sl.session_for(c.getsockname()[1])
    finally:
        c.close()
    assert rec["ts"] == "cD", rec.raw
    assert rec["s"] == "s1"


def test_server_timeout(sluice, servers, port):
    """A server that never answers is dropped after "timeout server",
    logged "sD"."""
    hold = servers.hold()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {hold.addr}
        """, client="10s", server="500ms"), ports=[fe])
    c = connect(fe)
    try:
        c.sendall(b"hello\n")
        _closed_between(c, 0.35, 3)
        rec = sl.session_for(c.getsockname()[1])
    finally:
        c.close()
    assert rec["ts"] == "sD", rec.raw


def test_tunnel_timeout_supersedes_client_server(sluice, servers, port):
    """Once connected, "timeout tunnel" replaces client/server timeouts."""
    echo = servers.echo()
    fe = port()
    sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            timeout tunnel 1500ms
            server s1 {echo.addr}
        """, client="300ms", server="300ms"), ports=[fe])
    c = connect(fe)
    try:
        c.sendall(b"hi\n")
        assert read_line(c) == "hi"
        _closed_between(c, 1.2, 5)
    finally:
        c.close()


@pytest.mark.parametrize("dead", ["blackhole", "refused"])
def test_connect_failure_redispatch(sluice, servers, port, dead):
    """s1 black-holed (timeout connect 300ms) or refusing; retries 1 +
    option redispatch: every client is still served, by s2, and the
    redispatched sessions show a '+' on %rc."""
    bad = servers.blackhole().addr if dead == "blackhole" else servers.refused()
    s2 = servers.ident("s2")
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            balance roundrobin
            retries 1
            option redispatch
            timeout connect 300ms
            server s1 {bad}
            server s2 {s2.addr}
        """), ports=[fe])
    seq = [ask_id(fe, timeout=4) for _ in range(4)]
    assert seq == ["s2"] * 4
    recs = sl.wait_sessions(4)
    assert len(recs) == 4
    assert all(r["s"] == "s2" and r["ts"] == "--" for r in recs), \
        [r.raw for r in recs]
    assert any(r.redispatched for r in recs), [r.raw for r in recs]


def test_refused_without_redispatch(sluice, servers, port):
    """No redispatch, the only server refuses: the client is closed with no
    data, logged "SC"."""
    bad = servers.refused()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            retries 1
            timeout connect 300ms
            server s1 {bad}
        """), ports=[fe])
    c = connect(fe)
    try:
        how, elapsed, data = wait_closed(c, tmo(5))
        assert how in ("eof", "reset"), f"still open after {elapsed:.2f}s"
        assert data == b""
        rec = sl.session_for(c.getsockname()[1])
    finally:
        c.close()
    assert rec["ts"] == "SC", rec.raw
    assert rec["s"] == "s1", rec.raw


@pytest.mark.parametrize("retries", [0, 3])
def test_retries_counted(sluice, servers, port, retries):
    """"retries N" against a refusing server: %rc shows N, then "SC"."""
    bad = servers.refused()
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            retries {retries}
            timeout connect 200ms
            server s1 {bad}
        """), ports=[fe])
    c = connect(fe)
    try:
        how, _, _ = wait_closed(c, tmo(6))
        assert how in ("eof", "reset")
        rec = sl.session_for(c.getsockname()[1])
    finally:
        c.close()
    assert rec["ts"] == "SC", rec.raw
    assert rec["rc"] == str(retries), rec.raw
