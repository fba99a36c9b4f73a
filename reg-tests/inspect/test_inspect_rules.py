"""tcp-request content rules over the client's first bytes, variables,
use-server, hashing on inspected payload, and `-c` on rule errors."""
import re
import time

import pytest

from lib.client import ask_id, connect, read_line, wait_closed
from lib.config import config, CHECK_HEAD
from lib.sluice import check_config


def test_content_reject_and_payload_routing(sluice, servers, port):
    a, b = servers.ident("a"), servers.ident("b")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content reject if {{ req.payload(0,4) -m bin 44454e59 }}
            tcp-request content accept if {{ req.len ge 4 }}
            use_backend be_b if {{ req.payload(0,3) -m bin 425f5f }}
            default_backend be_a

        backend be_a
            server a {a.addr}

        backend be_b
            server b {b.addr}
        """)
    sl = sluice(cfg, ports=[fe])
    s = connect(fe)
    s.sendall(b"B__ hello\n")
    assert read_line(s) == "b"
    assert read_line(s) == "B__ hello"  # inspected bytes reach the server unchanged
    s.close()
    # the rule waits for 4 bytes: send them in two pieces
    s = connect(fe)
    s.sendall(b"A")
    time.sleep(0.1)
    s.sendall(b"AAA\n")
    assert read_line(s) == "a"
    s.close()
    s = connect(fe)
    s.sendall(b"DENY")
    assert wait_closed(s, 3)
    s.close()
    recs = sl.wait_sessions(3)
    assert any(r["ts"] == "PR" for r in recs), recs
    assert a.accepted == 1 and b.accepted == 1


def test_set_var_and_use_server(sluice, servers, port):
    s1, s2 = servers.ident("s1"), servers.ident("s2")
    fe = port()
    cfg = config(f"""
        listen li
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content set-var(txn.want) req.payload(0,2)
            tcp-request content accept if {{ req.len ge 2 }}
            use-server s2 if {{ var(txn.want) -m str s2 }}
            server s1 {s1.addr}
            server s2 {s2.addr}
        """)
    sluice(cfg, ports=[fe])
    for _ in range(4):
        s = connect(fe)
        s.sendall(b"s2\n")
        assert read_line(s) == "s2"
        s.close()
    assert s2.accepted == 4 and s1.accepted == 0


def test_fc_rcvd_proxy_and_session_rules(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe} accept-proxy
            tcp-request session reject if {{ src 203.0.113.0/24 }}
            tcp-request content reject unless {{ fc_rcvd_proxy }}
            default_backend be

        backend be
            server s1 {s1.addr}
        """)
    sluice(cfg, ports=[fe])
    s = connect(fe)
    s.sendall(b"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n")
    assert read_line(s) == "s1"
    s.close()
    s = connect(fe)
    s.sendall(b"PROXY TCP4 203.0.113.5 192.0.2.2 1 2\r\n")
    assert wait_closed(s, 3)
    s.close()


def test_balance_hash_on_inspected_payload(sluice, servers, port):
    srvs = [servers.ident(f"s{i}") for i in range(4)]
    fe = port()
    lines = "\n".join(f"    server s{i} {x.addr}" for i, x in enumerate(srvs))
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content accept if {{ req.len ge 8 }}
            default_backend be

        backend be
            balance hash req.payload(0,8)
        """) + lines + "\n"
    sluice(cfg, ports=[fe])

    def who(key):
        s = connect(fe)
        s.sendall(key)
        name = read_line(s)
        s.close()
        return name
    for key in (b"user-001", b"user-002", b"user-003"):
        got = {who(key) for _ in range(5)}
        assert len(got) == 1, (key, got)


BAD = [
    ("unknown-action", "tcp-request content frobnicate", "frobnicate"),
    ("track-sc-no-table", "tcp-request connection track-sc0 src", "stick-table"),
    ("no-such-acl", "tcp-request content reject if nope", "nope"),
    ("bad-cidr", "acl a src 10.0.0.0/33", "10.0.0.0/33"),
    ("unknown-backend", "use_backend nowhere", "nowhere"),
    ("bad-match", "acl a req.ssl_sni -m foo x", "foo"),
    ("missing-map", "use_backend %[src,map_ip(/nonexistent.map)]", "/nonexistent.map"),
    ("expect-proxy-content", "tcp-request content expect-proxy layer4", "expect-proxy"),
]


@pytest.mark.parametrize("name,line,word", BAD, ids=[b[0] for b in BAD])
def test_bad_rules_fail_with_file_and_line(tmp_path, name, line, word):
    text = CHECK_HEAD.format(g="", d="") + (
        "frontend fe\n    bind 127.0.0.1:10001\n"
        f"    {line}\n    default_backend be\n"
        "backend be\n    server s1 127.0.0.1:10002\n")
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0, text
    want = next(i + 1 for i, ln in enumerate(text.splitlines()) if line in ln)
    m = re.search(re.escape(str(path)) + r":(\d+): (.*)", res.stderr)
    assert m and int(m.group(1)) == want, res.stderr
    assert word in res.stderr, res.stderr


def test_tcp_response_content_rules(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be

        backend be
            tcp-response content reject if {{ src 127.0.0.2 }}
            server s1 {s1.addr}
        """)
    sl = sluice(cfg, ports=[fe])
    assert ask_id(fe) == "s1"
    s = connect(fe, src="127.0.0.2")
    assert wait_closed(s, 3)
    s.close()
    recs = sl.wait_sessions(2)
    assert any(r["ts"] == "PD" for r in recs), recs
