"""PROXY protocol: send-proxy / send-proxy-v2 toward servers (IPv4 and
IPv6), accept-proxy on bind lines (v1 and v2, IPv4/IPv6/UNKNOWN/LOCAL),
expect-proxy layer4, and allowlists by source address and CIDR."""
import socket
import struct

import pytest

from lib.checksrv import ReplyServer, wait_for
from lib.client import ask_id, connect, read_line, wait_closed
from lib.config import config
from lib.ports import ipv6_available

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def _recorder(servers, host="127.0.0.1", until=None):
    """Records what each connection sent (up to `until`, else the first
    read) and answers "ok"."""
    return servers._add(ReplyServer(reply=b"ok\n", expect_len=-1, until=until, host=host))


def _fe_to(fe, addr, srv_opts="", bind_opts="", fe_extra="", host="127.0.0.1"):
    h = f"[{host}]" if ":" in host else host
    return config(f"""
        frontend fe
            bind {h}:{fe} {bind_opts}
            {fe_extra}
            default_backend be

        backend be
            server s1 {addr} {srv_opts}
        """)


def test_send_proxy_v1_ipv4(sluice, servers, port):
    rec = _recorder(servers, until=b"hello\n")
    fe = port()
    sluice(_fe_to(fe, rec.addr, "send-proxy"), ports=[fe])
    s = connect(fe)
    cport = s.getsockname()[1]
    s.sendall(b"hello\n")
    assert read_line(s) == "ok"
    s.close()
    req = rec.requests[0]
    line, rest = req.split(b"\r\n", 1)
    assert line == f"PROXY TCP4 127.0.0.1 127.0.0.1 {cport} {fe}".encode(), req
    assert rest == b"hello\n"


def test_send_proxy_v2_ipv4(sluice, servers, port):
    rec = _recorder(servers, until=b"data")
    fe = port()
    sluice(_fe_to(fe, rec.addr, "send-proxy-v2"), ports=[fe])
    s = connect(fe)
    cport = s.getsockname()[1]
    s.sendall(b"data")
    assert read_line(s) == "ok"
    s.close()
    req = rec.requests[0]
    assert req[:12] == SIG and req[12] == 0x21 and req[13] == 0x11, req[:16]
    length = struct.unpack(">H", req[14:16])[0]
    src, dst, sp, dp = struct.unpack(">4s4sHH", req[16:28])
    assert socket.inet_ntoa(src) == "127.0.0.1" and sp == cport and dp == fe
    assert req[16 + length:] == b"data"


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
def test_send_proxy_v1_and_v2_ipv6(sluice, servers, port):
    for opt in ("send-proxy", "send-proxy-v2"):
        rec = _recorder(servers)
        fe = port()
        sl = sluice(_fe_to(fe, rec.addr, opt, host="::1"), ports=[fe])
        s = connect(fe, host="::1")
        cport = s.getsockname()[1]
        s.sendall(b"x")
        assert read_line(s) == "ok"
        s.close()
        req = rec.requests[0]
        if opt == "send-proxy":
            assert req.startswith(f"PROXY TCP6 ::1 ::1 {cport} {fe}\r\n".encode()), req
        else:
            assert req[:12] == SIG and req[13] == 0x21, req[:16]
            sp, dp = struct.unpack(">HH", req[16 + 32:16 + 36])
            assert sp == cport and dp == fe
        sl.stop()


def _accepting(sluice, servers, port, bind_opts="accept-proxy", fe_extra=""):
    s1 = servers.ident("s1")
    fe = port()
    sl = sluice(_fe_to(fe, s1.addr, bind_opts=bind_opts, fe_extra=fe_extra), ports=[fe])
    return fe, sl


def _v2(src, dst, sport, dport, cmd=0x21, fam=0x11, tlvs=b""):
    if fam == 0x11:
        addr = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    elif fam == 0x21:
        addr = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) \
            + struct.pack(">HH", sport, dport)
    else:
        addr = b""
    body = addr + tlvs
    return SIG + bytes([cmd, fam]) + struct.pack(">H", len(body)) + body


@pytest.mark.parametrize("header,ci", [
    (b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n", "192.0.2.7"),
    (b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n", "2001:db8::7"),
    (b"PROXY UNKNOWN\r\n", "127.0.0.1"),
    (_v2("192.0.2.9", "198.51.100.1", 40001, 443), "192.0.2.9"),
    (_v2("2001:db8::9", "2001:db8::1", 40001, 443, fam=0x21), "2001:db8::9"),
    (_v2("", "", 0, 0, cmd=0x20, fam=0x00), "127.0.0.1"),
], ids=["v1-tcp4", "v1-tcp6", "v1-unknown", "v2-inet", "v2-inet6", "v2-local"])
def test_accept_proxy_sets_the_source(sluice, servers, port, header, ci):
    fe, sl = _accepting(sluice, servers, port)
    s = connect(fe)
    s.sendall(header + b"after-header\n")
    assert read_line(s) == "s1"
    assert read_line(s) == "after-header"  # the header itself was consumed
    s.close()
    recs = sl.wait_sessions(1)
    assert recs and recs[0]["ci"].strip("[]") == ci, recs


@pytest.mark.parametrize("junk", [b"GET / HTTP/1.0\r\n\r\n", b"PROXY TCP4 1.2.3.4\r\n",
                                  b"PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n",
                                  SIG + b"\x11\x11\x00\x04abcd"],
                         ids=["http", "short-v1", "bad-addr", "v2-bad-version"])
def test_accept_proxy_closes_on_a_bad_header(sluice, servers, port, junk):
    fe, sl = _accepting(sluice, servers, port)
    s = connect(fe)
    s.sendall(junk)
    assert wait_closed(s, 3)
    s.close()
    assert wait_for(lambda: any("PROXY protocol header" in ln for ln in sl.log_lines()), 3), \
        sl.describe()
    assert sl.alive()


def test_expect_proxy_only_for_some_sources(sluice, servers, port):
    fe, sl = _accepting(sluice, servers, port, bind_opts="",
                        fe_extra="tcp-request connection expect-proxy layer4 "
                                 "if { src 127.0.0.2 }")
    assert ask_id(fe) == "s1"  # 127.0.0.1: no header expected
    s = connect(fe, src="127.0.0.2")
    s.sendall(b"PROXY TCP4 192.0.2.50 192.0.2.1 1000 2000\r\n")
    assert read_line(s) == "s1"
    s.close()
    recs = sl.wait_sessions(2)
    assert any(r["ci"] == "192.0.2.50" for r in recs), recs


def test_allowlist_by_source_and_cidr(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            acl allowed src 127.0.0.2 127.0.1.0/24
            tcp-request connection reject unless allowed
            default_backend be

        backend be
            server s1 {s1.addr}
        """)
    sl = sluice(cfg, ports=[fe])
    assert ask_id(fe, src="127.0.0.2") == "s1"
    assert ask_id(fe, src="127.0.1.77") == "s1"
    s = connect(fe, src="127.0.0.3")
    assert wait_closed(s, 3)
    s.close()
    assert s1.accepted == 2
    assert sl.alive()
