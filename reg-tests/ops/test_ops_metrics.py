"""The stats listener: Prometheus text exposition on /metrics (parsed
strictly) and the HTML page."""
import re
import socket

from lib.client import ask_id
from lib.config import config
from lib.env import tmo

SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? '
    r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def http_get(port, path, method="GET"):
    s = socket.create_connection(("127.0.0.1", port), timeout=tmo(5))
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode(), body.decode()


def parse_prometheus(text):
    """{(name, labels): value}; asserts the exposition format's rules."""
    samples, typed, helped = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in helped, f"two HELP for {name}"
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            assert kind in ("counter", "gauge", "untyped", "histogram", "summary"), line
            assert name not in typed, f"two TYPE for {name}"
            typed[name] = kind
        else:
            m = SAMPLE_RE.match(line)
            assert m, f"not a sample line: {line!r}"
            name = m.group(1)
            assert name in typed, f"{name} has no TYPE before its samples"
            samples[(name, m.group(3) or "")] = float(m.group(4))
    return samples


def test_metrics_parse_and_count(sluice, servers, port):
    s1 = servers.ident("s1")
    fe, st = port(), port()
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be

        frontend stats
            bind 127.0.0.1:{st}
            stats uri /

        backend be
            server s1 {s1.addr}
        """), ports=[fe, st])
    for _ in range(3):
        ask_id(fe)
    head, body = http_get(st, "/metrics")
    assert head.startswith("HTTP/1.1 200"), head
    assert "text/plain; version=0.0.4" in head
    m = parse_prometheus(body)
    assert m[("haproxy_frontend_sessions_total", 'proxy="fe"')] == 3
    assert m[("haproxy_backend_sessions_total", 'proxy="be"')] == 3
    assert ("haproxy_server_current_sessions", 'proxy="be",server="s1"') in m
    assert m[("haproxy_process_nbthread", "")] >= 1
    head, body = http_get(st, "/")
    assert head.startswith("HTTP/1.1 200") and "<html" in body.lower() and "s1" in body
    assert http_get(st, "/nope")[0].startswith("HTTP/1.1 404")
    assert http_get(st, "/", "POST")[0].startswith("HTTP/1.1 405")
