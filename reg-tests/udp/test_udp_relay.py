"""mode udp: sessions per client port, replies from the frontend's address,
spreading, timeouts, datagram integrity (0 to 65000 bytes), PROXY v2 over
datagrams, IPv6, bounded session tables and servers that never answer."""
import hashlib
import random
import socket
import struct
import time
from collections import Counter

import pytest

from lib.config import config
from lib.ports import ipv6_available
from lib.udpsrv import (UdpIdServer, UdpServer, UdpSilentServer, ask, ask_name,
                        client, wait_until)

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def _udp_cfg(fe, servers, balance="roundrobin", fe_extra="", be_extra="",
             timeout="client 5s", host="127.0.0.1", glob=""):
    lines = "\n".join(f"            server s{i} {s.addr}{srv_opts}"
                      for i, (s, srv_opts) in enumerate(servers))
    bind = f"[{host}]:{fe}" if ":" in host else f"{host}:{fe}"
    return config(f"""
        frontend fe
            mode udp
            bind {bind}
            timeout {timeout}
            {fe_extra}
            default_backend be

        backend be
            mode udp
            balance {balance}
            {be_extra}
""" + lines + "\n", global_extra=glob)


def _ids(reg, n, host="127.0.0.1"):
    out = []
    for i in range(n):
        s = UdpIdServer(f"s{i}", host=host)
        reg._add(s)
        out.append(s)
    return out


def test_one_client_port_always_reaches_one_server(sluice, servers, port):
    srv = _ids(servers, 3)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv]), ports=[fe])
    c = client()
    names = set()
    for i in range(10):
        reply, sender = ask(c, fe, b"ping %d" % i)
        assert reply is not None
        name, _, echoed = reply.partition(b":")
        assert echoed == b"ping %d" % i
        names.add(name)
        # the reply comes from the address the client sent to
        assert sender == ("127.0.0.1", fe)
    assert len(names) == 1, names
    c.close()


def test_three_clients_spread_over_three_servers(sluice, servers, port):
    srv = _ids(servers, 3)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv]), ports=[fe])
    clients = [client() for _ in range(3)]
    got = [ask_name(c, fe) for c in clients]
    assert sorted(got) == ["s0", "s1", "s2"], got
    # and each keeps its server
    for c, name in zip(clients, got):
        assert ask_name(c, fe, b"again") == name
    # every server saw exactly one source port of sluice's
    assert all(len(s.peers) == 1 for s in srv)
    for c in clients:
        c.close()


def test_session_timeout_frees_the_session(sluice, servers, port):
    srv = _ids(servers, 2)
    fe = port()
    sl = sluice(_udp_cfg(fe, [(s, "") for s in srv], timeout="client 400ms"), ports=[fe])
    c = client()
    first = ask_name(c, fe, b"a")
    assert ask_name(c, fe, b"b") == first
    recs = sl.wait_sessions(1, timeout=3)
    assert len(recs) == 1, sl.describe()
    rec = recs[0]
    assert rec["ts"] == "cD" and rec["dgi"] == "2" and rec["dgo"] == "2", rec.raw
    assert rec.num("Tt") >= 350, rec.raw
    assert rec.num("B") == len(first) * 2 + 4, rec.raw  # two replies "sN:a", "sN:b"
    # a new session from the same port: roundrobin's next server
    assert ask_name(c, fe, b"c") != first
    c.close()


def test_mixed_sizes_arrive_intact(sluice, servers, port):
    echo = UdpServer()
    servers._add(echo)
    fe = port()
    sluice(_udp_cfg(fe, [(echo, "")]), ports=[fe])
    c = client()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    rnd = random.Random(5)
    sizes = [0, 1, 65000, 1472, 1473, 9000] + [rnd.randint(0, 20000) for _ in range(994)]
    for i, n in enumerate(sizes):
        data = rnd.randbytes(n)
        reply = None
        for _ in range(3):  # loopback UDP may drop under pressure: retry
            reply, _ = ask(c, fe, data, timeout=1)
            if reply is not None:
                break
        assert reply is not None, f"datagram {i} ({n} bytes) lost 3 times"
        assert hashlib.sha256(reply).digest() == hashlib.sha256(data).digest(), (i, n)
    c.close()


def _v2_addrs(data):
    """(src, sport, dst, dport, payload) of a PROXY v2 INET/DGRAM datagram."""
    assert data[:12] == PP2_SIG, data[:16]
    assert data[12] == 0x21, "version 2, command PROXY"
    length = struct.unpack("!H", data[14:16])[0]
    fam = data[13]
    if fam == 0x12:  # AF_INET, DGRAM
        src, dst = socket.inet_ntop(socket.AF_INET, data[16:20]), socket.inet_ntop(socket.AF_INET, data[20:24])
        sport, dport = struct.unpack("!HH", data[24:28])
    else:
        assert fam == 0x22, hex(fam)  # AF_INET6, DGRAM
        src, dst = socket.inet_ntop(socket.AF_INET6, data[16:32]), socket.inet_ntop(socket.AF_INET6, data[32:48])
        sport, dport = struct.unpack("!HH", data[48:52])
    return src, sport, dst, dport, data[16 + length:]


def test_send_proxy_v2_prepends_a_dgram_header(sluice, servers, port):
    rec = UdpServer()
    servers._add(rec)
    fe = port()
    sluice(_udp_cfg(fe, [(rec, " send-proxy-v2")]), ports=[fe])
    c = client(src="127.0.0.2")
    for payload in (b"hello", b"", b"x" * 3000):
        reply, _ = ask(c, fe, payload)
        assert reply is not None
        src, sport, dst, dport, rest = _v2_addrs(reply)  # the echo sends it back
        assert (src, sport) == ("127.0.0.2", c.getsockname()[1])
        assert (dst, dport) == ("127.0.0.1", fe)
        assert rest == payload
    c.close()


def test_accept_proxy_reads_the_header_of_each_datagram(sluice, servers, port):
    rec = UdpServer()
    servers._add(rec)
    fe = port()
    sl = sluice(_udp_cfg(fe, [(rec, " send-proxy-v2")], timeout="client 300ms")
                .replace(f"bind 127.0.0.1:{fe}", f"bind 127.0.0.1:{fe} accept-proxy"),
                ports=[fe])
    hdr = (PP2_SIG + bytes([0x21, 0x12]) + struct.pack("!H", 12) +
           socket.inet_aton("198.51.100.7") + socket.inet_aton("203.0.113.9") +
           struct.pack("!HH", 4242, 53))
    c = client()
    reply, _ = ask(c, fe, hdr + b"payload")
    assert reply is not None
    src, sport, dst, dport, rest = _v2_addrs(reply)
    # the received header's addresses travel on; its bytes are not relayed twice
    assert (src, sport, dst, dport, rest) == ("198.51.100.7", 4242, "203.0.113.9", 53, b"payload")
    # a datagram without a valid header is dropped, and sluice lives on
    bad = client()
    assert ask(bad, fe, b"no header here", timeout=0.5)[0] is None
    assert ask(bad, fe, PP2_SIG + b"\x21\x12\xff\xff", timeout=0.5)[0] is None
    assert ask(c, fe, hdr + b"again")[0] is not None
    recs = sl.wait_sessions(1, timeout=3)
    assert recs and recs[0]["ci"] == "198.51.100.7", sl.describe()
    c.close()
    bad.close()


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
def test_ipv6_frontend_and_servers(sluice, servers, port):
    srv = _ids(servers, 2, host="::1")
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv], host="::1"), ports=[fe])
    c = client(host="::1")
    reply, sender = ask(c, fe, b"six", host="::1")
    assert reply is not None and reply.endswith(b":six")
    assert sender[:2] == ("::1", fe)
    c.close()


def test_wildcard_bind_replies_from_the_address_reached(sluice, servers, port):
    srv = _ids(servers, 1)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv]).replace(f"bind 127.0.0.1:{fe}", f"bind 0.0.0.0:{fe}"),
           ports=[fe])
    for dst in ("127.0.0.1", "127.0.0.3"):
        c = client()
        reply, sender = ask(c, fe, b"w", host=dst)
        assert reply == b"s0:w"
        assert sender == (dst, fe)
        c.close()


def test_flood_of_source_ports_is_bounded_by_maxconn(sluice, servers, port):
    srv = _ids(servers, 2)
    fe = port()
    sl = sluice(_udp_cfg(fe, [(s, "") for s in srv], fe_extra="maxconn 10"), ports=[fe])
    clients = [client() for _ in range(60)]
    answered = sum(ask_name(c, fe, b"f", timeout=1) is not None for c in clients)
    # every new client gets a session, evicting the least recently active
    assert answered == 60
    evicted = sl.wait_sessions(50, timeout=3)
    assert len(evicted) >= 50, sl.describe()
    # at most 10 live sessions: sluice holds at most ~10 server sockets
    assert sum(len(s.peers) for s in srv) == 60
    # the newest clients still have their session
    assert all(ask_name(c, fe, b"g") is not None for c in clients[-10:])
    for c in clients:
        c.close()


def test_server_that_never_answers(sluice, servers, port):
    mute = UdpSilentServer()
    servers._add(mute)
    fe = port()
    sl = sluice(_udp_cfg(fe, [(mute, "")], timeout="client 300ms"), ports=[fe])
    c = client()
    for _ in range(5):
        c.sendto(b"anyone?", ("127.0.0.1", fe))
    assert wait_until(lambda: len(mute.received) == 5, 3)
    recs = sl.wait_sessions(1, timeout=3)
    assert recs and recs[0]["dgi"] == "5" and recs[0]["dgo"] == "0", sl.describe()
    c.close()


def test_dead_server_port_icmp_errors(sluice, servers, port):
    """Datagrams to a port with nothing behind it: ICMP port unreachable
    comes back to sluice's socket; nothing breaks."""
    dead = UdpServer()
    addr = dead.addr
    dead.stop()
    fe = port()
    sl = sluice(config(f"""
        frontend fe
            mode udp
            bind 127.0.0.1:{fe}
            timeout client 300ms
            default_backend be
        backend be
            mode udp
            server gone {addr}
        """), ports=[fe])
    c = client()
    for _ in range(20):
        c.sendto(b"x" * 100, ("127.0.0.1", fe))
        time.sleep(0.01)
    assert sl.wait_sessions(1, timeout=3), sl.describe()
    assert sl.alive()
    c.close()


def test_balance_source_keeps_an_address_on_one_server(sluice, servers, port):
    srv = _ids(servers, 4)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv], balance="source"), ports=[fe])
    for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        got = {ask_name(client(src=src), fe) for _ in range(5)}  # 5 source ports
        assert len(got) == 1, (src, got)


def test_leastconn_counts_sessions(sluice, servers, port):
    srv = _ids(servers, 2)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv], balance="leastconn"), ports=[fe])
    clients = [client() for _ in range(6)]
    got = Counter(ask_name(c, fe) for c in clients)
    assert got == {"s0": 3, "s1": 3}, got
    for c in clients:
        c.close()


def test_stick_on_src_in_udp(sluice, servers, port):
    srv = _ids(servers, 3)
    fe = port()
    sluice(_udp_cfg(fe, [(s, "") for s in srv],
                    be_extra="stick-table type ip size 1k expire 1m\n            stick on src"),
           ports=[fe])
    first = ask_name(client(src="127.0.0.2"), fe)
    # new source ports of the same address: the same server, despite roundrobin
    assert [ask_name(client(src="127.0.0.2"), fe) for _ in range(4)] == [first] * 4
