"""Tracking counters: rate limits per source (track-sc0 + sc0_conn_rate),
concurrent connection limits (sc0_conn_cur), flags (sc-inc-gpc0), bytes,
src_* lookups in a table tracked elsewhere, table_cnt with eviction and
expiry, and exact counting across worker threads."""
import threading
import time

from lib.checksrv import wait_for
from lib.client import ask_id, connect, hold_id, read_line, wait_closed
from lib.config import config


def _try_id(fe, src, timeout=2):
    try:
        return ask_id(fe, src=src, timeout=timeout)
    except (OSError, EOFError, TimeoutError):
        return None


def _limited(fe, srv, store, rule, extra="", nbthread=1):
    return config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            stick-table type ip size 100k expire 30s store {store}
            tcp-request connection track-sc0 src
            tcp-request connection reject if {rule}
            {extra}
            default_backend be

        backend be
            server s1 {srv.addr}
        """, global_extra=f"nbthread {nbthread}")


def test_sixth_connection_of_a_burst_is_rejected(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    sluice(_limited(fe, s1, "conn_rate(10s)", "{ sc0_conn_rate gt 5 }"), ports=[fe])
    got = [_try_id(fe, "127.0.0.2") for _ in range(6)]
    assert got == ["s1"] * 5 + [None], got
    # another source is still served while the first is limited
    assert _try_id(fe, "127.0.0.3") == "s1"
    assert _try_id(fe, "127.0.0.2") is None
    assert s1.accepted == 6


def test_rate_limit_is_exact_across_two_threads(sluice, servers, port):
    """40 connections from one source spread over 2 workers: exactly 20
    pass a 'gt 20' limit, whatever thread each lands on."""
    s1 = servers.ident("s1")
    fe = port()
    sluice(_limited(fe, s1, "conn_rate(10s)", "{ sc0_conn_rate gt 20 }", nbthread=2),
           ports=[fe])
    results = []
    lock = threading.Lock()

    def worker(n):
        for _ in range(n):
            r = _try_id(fe, "127.0.0.2")
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 40
    assert results.count("s1") == 20, results


def test_concurrent_connection_limit(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    sluice(_limited(fe, s1, "conn_cur", "{ sc0_conn_cur gt 2 }"), ports=[fe])
    held = [hold_id(fe, src="127.0.0.2")[1] for _ in range(2)]
    assert _try_id(fe, "127.0.0.2") is None        # a third one at once
    assert _try_id(fe, "127.0.0.3") == "s1"        # other clients are fine
    held.pop().close()
    # conn_cur drops when a session ends
    assert wait_for(lambda: _try_id(fe, "127.0.0.2") == "s1", 5)
    for s in held:
        s.close()


def test_gpc0_flags_an_abuser_for_later_connections(sluice, servers, port):
    """A client that sent 'BAD' is refused at connection time afterwards."""
    s1 = servers.ident("s1")
    fe = port()
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            stick-table type ip size 1k expire 30s store gpc0,gpc0_rate(10s)
            tcp-request connection track-sc0 src
            tcp-request connection reject if {{ sc0_get_gpc0 gt 0 }}
            tcp-request inspect-delay 2s
            tcp-request content sc-inc-gpc0(0) if {{ req.payload(0,3) -m str BAD }}
            tcp-request content accept if {{ req.len ge 3 }}
            default_backend be

        backend be
            server s1 {s1.addr}
        """), ports=[fe])
    s = connect(fe, src="127.0.0.2")
    s.sendall(b"BAD\n")
    assert read_line(s) == "s1"
    s.close()
    assert wait_for(lambda: _try_id(fe, "127.0.0.2", timeout=3) is None, 5)
    s = connect(fe, src="127.0.0.3")
    s.sendall(b"OK!\n")
    assert read_line(s) == "s1"
    s.close()


def test_bytes_in_counter_limits_a_heavy_sender(sluice, servers, port):
    echo = servers.echo()
    fe = port()
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            stick-table type ip size 1k expire 30s store bytes_in_cnt,bytes_out_cnt
            tcp-request connection track-sc0 src
            tcp-request connection reject if {{ sc0_kbytes_in ge 2 }}
            default_backend be

        backend be
            server e {echo.addr}
        """), ports=[fe])
    s = connect(fe, src="127.0.0.2")
    s.sendall(b"x" * 3000)
    got = b""
    while len(got) < 3000:
        chunk = s.recv(65536)
        assert chunk
        got += chunk
    s.close()

    def refused():
        c = connect(fe, src="127.0.0.2")
        try:
            c.sendall(b"ping")
            state, _, data = wait_closed(c, 2)
            return state != "open" and data == b""
        finally:
            c.close()
    assert wait_for(refused, 5)
    c = connect(fe, src="127.0.0.3")
    c.sendall(b"ping")
    assert c.recv(4) == b"ping"
    c.close()


def test_src_conn_rate_reads_a_table_tracked_by_another_frontend(sluice, servers, port):
    s1 = servers.ident("s1")
    fe_a, fe_b = port(), port()
    sluice(config(f"""
        peers local
            table clients type ip size 1k expire 30s store conn_rate(10s),conn_cnt

        frontend counted
            bind 127.0.0.1:{fe_a}
            tcp-request connection track-sc1 src table local/clients
            default_backend be

        frontend guarded
            bind 127.0.0.1:{fe_b}
            tcp-request connection reject if {{ src_conn_rate(local/clients) ge 3 }}
            default_backend be

        backend be
            server s1 {s1.addr}
        """), ports=[fe_a, fe_b])
    assert _try_id(fe_b, "127.0.0.2") == "s1"
    for _ in range(3):
        assert _try_id(fe_a, "127.0.0.2") == "s1"
    assert _try_id(fe_b, "127.0.0.2") is None
    assert _try_id(fe_b, "127.0.0.3") == "s1"


def test_table_never_grows_past_size_and_entries_expire(sluice, servers, port):
    """size 3: five sources leave three entries (table_cnt, read through a
    dynamic use_backend); after expire 1s they are gone."""
    counters = {f"n{i}": servers.ident(f"cnt{i}") for i in range(6)}
    s1 = servers.ident("s1")
    fe, probe = port(), port()
    backends = "".join(f"""
        backend n{i}
            server c {counters[f'n{i}'].addr}
        """ for i in range(6))
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            stick-table type ip size 3 expire 1500ms store conn_cnt
            tcp-request connection track-sc0 src
            default_backend be

        frontend probe
            bind 127.0.0.1:{probe}
            use_backend n%[table_cnt(fe)]

        backend be
            server s1 {s1.addr}
        """ + backends), ports=[fe, probe])
    assert ask_id(probe) == "cnt0"
    for i in range(2, 7):
        assert _try_id(fe, f"127.0.0.{i}") == "s1"
    assert ask_id(probe) == "cnt3"
    # the newest source is in the table, evicting the oldest
    time.sleep(0.1)
    assert wait_for(lambda: ask_id(probe) == "cnt0", 5)


def test_tracked_entries_survive_while_the_session_lives(sluice, servers, port):
    """An entry referenced by a live session is not expired: conn_cur
    still counts it after the expire delay."""
    s1 = servers.ident("s1")
    fe = port()
    sluice(_limited(fe, s1, "conn_cur", "{ sc0_conn_cur gt 1 }",
                    extra="").replace("expire 30s", "expire 500ms"), ports=[fe])
    name, held = hold_id(fe, src="127.0.0.2")
    assert name == "s1"
    time.sleep(1.5)
    assert _try_id(fe, "127.0.0.2") is None  # still one live connection
    held.close()
    assert wait_for(lambda: _try_id(fe, "127.0.0.2") == "s1", 5)


def test_track_on_content_rule_with_string_key(sluice, servers, port):
    """track-sc1 on a payload key in a content rule; sc1_conn_cnt counts
    per key, not per source."""
    s1 = servers.ident("s1")
    fe = port()
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            stick-table type string len 8 size 1k expire 30s store conn_cnt
            tcp-request inspect-delay 2s
            tcp-request content accept unless {{ req.len ge 4 }}
            tcp-request content track-sc1 req.payload(0,4)
            tcp-request content reject if {{ sc1_conn_cnt gt 2 }}
            default_backend be

        backend be
            server s1 {s1.addr}
        """), ports=[fe])

    def send(key, src):
        s = connect(fe, src=src)
        try:
            s.sendall(key + b"\n")
            return read_line(s, timeout=2)
        except (OSError, EOFError, TimeoutError):
            return None
        finally:
            s.close()

    assert send(b"key1", "127.0.0.2") == "s1"
    assert send(b"key1", "127.0.0.3") == "s1"
    assert send(b"key1", "127.0.0.4") is None   # third for key1
    assert send(b"key2", "127.0.0.2") == "s1"
