"""Limits: server maxconn + queue, timeout queue, and back-pressure from
global, frontend and bind maxconn (a client over the limit waits in the
kernel backlog: it is never reset and is served once a slot frees)."""
import time

import pytest

from lib.client import (connect, hold_id, read_line, close_gracefully,
                        silent_for, wait_closed)
from lib.config import config
from lib.env import tmo


def test_maxconn_queue_in_order(sluice, servers, port):
    """server maxconn 1: B and C wait, in arrival order, until the one
    before them leaves."""
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            timeout queue 10s
            server s1 {s1.addr} maxconn 1
        """), ports=[fe])
    _, a = hold_id(fe)
    b = connect(fe)
    time.sleep(0.1)
    c = connect(fe)
    try:
        assert silent_for(b, 0.5), "B served while A holds the only slot"
        assert silent_for(c, 0.1)
        assert s1.accepted == 1
        close_gracefully(a)
        assert read_line(b, 3) == "s1", "B not served after A left"
        assert silent_for(c, 0.3), "C served while B holds the slot"
        b_port = b.getsockname()[1]
        close_gracefully(b)
        assert read_line(c, 3) == "s1", "C not served after B left"
        close_gracefully(c)
    finally:
        b.close()
        c.close()
    rec = sl.session_for(b_port)
    assert rec["ts"] == "--", rec.raw
    assert rec.num("Tw") >= 400, f"B waited ~0.6s in queue: {rec.raw}"
    assert s1.accepted == 3 and s1.peak == 1


def test_queue_timeout_closes_waiting_client(sluice, servers, port):
    """timeout queue 500ms: the waiting client is closed after ~0.5s, logged
    "sQ"; the client being served is not disturbed."""
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            timeout queue 500ms
            server s1 {s1.addr} maxconn 1
        """), ports=[fe])
    _, a = hold_id(fe)
    b = connect(fe)
    try:
        b_port = b.getsockname()[1]
        how, elapsed, data = wait_closed(b, tmo(5))
        assert how in ("eof", "reset"), "queued client never released"
        assert data == b""
        assert 0.35 <= elapsed <= tmo(2.5), f"closed after {elapsed:.2f}s"
        rec = sl.session_for(b_port)
        assert rec["ts"] == "sQ", rec.raw
        assert rec.num("Tw") >= 400, rec.raw
        a.sendall(b"still here\n")
        assert read_line(a) == "still here"
        assert s1.accepted == 1
    finally:
        a.close()
        b.close()


def _backpressure(sluice, servers, port, glob_maxconn, fe_lines, bind_opts):
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}{bind_opts}
        {fe_lines}
            default_backend be

        backend be
            server s1 {s1.addr}
        """, maxconn=glob_maxconn), ports=[fe])
    held = [hold_id(fe)[1], hold_id(fe)[1]]
    third = connect(fe)
    try:
        assert silent_for(third, 0.7), \
            "3rd connection was answered or closed instead of waiting"
        assert s1.accepted == 2, "3rd connection reached the server"
        close_gracefully(held.pop(0))
        assert read_line(third, 3) == "s1", "3rd not served after a slot freed"
        third.sendall(b"ping\n")
        assert read_line(third) == "ping"
    finally:
        for s in held + [third]:
            s.close()
    assert sl.alive()


def test_global_maxconn_backpressure(sluice, servers, port):
    _backpressure(sluice, servers, port, 2, "", "")


def test_frontend_maxconn_backpressure(sluice, servers, port):
    _backpressure(sluice, servers, port, 1000, "    maxconn 2", "")


def test_bind_maxconn_backpressure(sluice, servers, port):
    _backpressure(sluice, servers, port, 1000, "", " maxconn 2")


@pytest.mark.parametrize("nbthread", [2])
def test_global_maxconn_counts_all_threads(sluice, servers, port, nbthread):
    """The limit is for the process, not per thread."""
    s1 = servers.ident("s1")
    fe = port()
    sluice(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {s1.addr}
        """, maxconn=3, global_extra=f"nbthread {nbthread}"), ports=[fe])
    held = [hold_id(fe)[1] for _ in range(3)]
    extra = [connect(fe) for _ in range(3)]
    try:
        for s in extra:
            assert silent_for(s, 0.2)
        time.sleep(0.3)
        assert s1.accepted == 3
    finally:
        for s in held + extra:
            s.close()
