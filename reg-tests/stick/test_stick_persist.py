"""Persistence with stick tables: `stick on`, `stick match` +
`stick store-request`, a dead server's clients move (and stay on their new
server), a drained server keeps its clients, string keys truncated to len.
Clients are distinct 127.0.0.x source addresses."""
from collections import Counter

from lib.checksrv import AgentServer, Restartable, wait_for, wait_log
from lib.client import ask_id, connect, read_line
from lib.config import config, start_fe_be

SOURCES = [f"127.0.0.{i}" for i in range(2, 8)]


def _restartables(servers, names):
    out = {}
    for n in names:
        r = Restartable(n)
        servers._add(r)
        out[n] = r
    return out


def _try_id(fe, src):
    try:
        return ask_id(fe, src=src, timeout=2)
    except (OSError, EOFError, TimeoutError):
        return None


def test_stick_on_src_keeps_each_client_on_one_server(sluice, servers, port):
    ids = [servers.ident(f"s{i}") for i in range(3)]
    fe, _ = start_fe_be(sluice, port, [
        "balance roundrobin",
        "stick-table type ip size 1k expire 30s",
        "stick on src",
        *[f"server s{i} {x.addr}" for i, x in enumerate(ids)]])
    first = {src: ask_id(fe, src=src) for src in SOURCES}
    # roundrobin spread the first connections over every server
    assert set(first.values()) == {"s0", "s1", "s2"}, first
    for _ in range(3):
        for src in SOURCES:
            assert ask_id(fe, src=src) == first[src], src


def test_without_stick_roundrobin_moves_the_client(sluice, servers, port):
    """The control: the same client is spread when nothing sticks."""
    ids = [servers.ident(f"s{i}") for i in range(3)]
    fe, _ = start_fe_be(sluice, port, [
        "balance roundrobin",
        *[f"server s{i} {x.addr}" for i, x in enumerate(ids)]])
    got = Counter(ask_id(fe, src="127.0.0.2") for _ in range(6))
    assert got == {"s0": 2, "s1": 2, "s2": 2}


def test_client_moves_when_its_server_dies_and_stays_moved(sluice, servers, port):
    srv = _restartables(servers, ["s1", "s2"])
    fe, sl = start_fe_be(sluice, port, [
        "balance roundrobin",
        "stick-table type ip size 1k expire 30s",
        "stick on src",
        f"server s1 {srv['s1'].addr} check inter 100ms fall 2 rise 2",
        f"server s2 {srv['s2'].addr} check inter 100ms fall 2 rise 2"])
    home = {src: ask_id(fe, src=src) for src in SOURCES[:4]}
    victim = "s1"
    movers = [src for src, name in home.items() if name == victim]
    stayers = [src for src, name in home.items() if name != victim]
    assert movers and stayers, home

    srv[victim].down()
    assert wait_log(sl, f"Server be/{victim} is DOWN", timeout=5) >= 0, sl.describe()
    for src in movers:
        assert ask_id(fe, src=src) == "s2"
    for src in stayers:
        assert ask_id(fe, src=src) == home[src]

    srv[victim].up()
    assert wait_log(sl, f"Server be/{victim} is UP", timeout=5) >= 0, sl.describe()
    # the table now says s2 for the movers: they do not go back
    for _ in range(3):
        for src in movers:
            assert ask_id(fe, src=src) == "s2"
    # a new client is balanced normally again
    assert {ask_id(fe, src=f"127.0.1.{i}") for i in range(1, 5)} == {"s1", "s2"}


def test_drained_server_keeps_its_clients(sluice, servers, port):
    s1, s2 = servers.ident("s1"), servers.ident("s2")
    agent = servers._add(AgentServer(reply=b"up\n"))
    fe, sl = start_fe_be(sluice, port, [
        "balance roundrobin",
        "stick-table type ip size 1k expire 30s",
        "stick on src",
        f"server s1 {s1.addr} check inter 100ms agent-check agent-port {agent.port} agent-inter 100ms",
        f"server s2 {s2.addr}"])
    home = {src: ask_id(fe, src=src) for src in SOURCES[:4]}
    on_s1 = [src for src, name in home.items() if name == "s1"]
    assert on_s1, home
    agent.reply = b"drain\n"
    fresh = (f"127.0.{3 + i // 250}.{i % 250 + 1}" for i in range(1000))
    # every probe is a new client (a probe that landed on s1 before the
    # drain would rightly stick to it)
    assert wait_for(lambda: all(ask_id(fe, src=next(fresh)) == "s2"
                                for _ in range(3)), 5), sl.describe()
    # new clients avoid s1, its own clients still reach it
    for src in on_s1:
        assert ask_id(fe, src=src) == "s1"


def test_stick_match_and_store_request_with_conditions(sluice, servers, port):
    """Only clients of 127.0.0.2/31 are recorded; everyone is matched."""
    ids = [servers.ident(f"s{i}") for i in range(2)]
    fe, _ = start_fe_be(sluice, port, [
        "balance roundrobin",
        "stick-table type ip size 1k expire 30s",
        "stick match src",
        "stick store-request src if { src 127.0.0.2/31 }",
        *[f"server s{i} {x.addr}" for i, x in enumerate(ids)]])
    stored = ask_id(fe, src="127.0.0.2")
    assert [ask_id(fe, src="127.0.0.2") for _ in range(4)] == [stored] * 4
    # 127.0.0.4 is never stored: roundrobin moves it
    got = Counter(ask_id(fe, src="127.0.0.4") for _ in range(4))
    assert set(got) == {"s0", "s1"}, got


def test_string_keys_are_truncated_to_len(sluice, servers, port):
    """type string len 4: 'abcd1' and 'abcd2' are one key."""
    ids = [servers.ident(f"s{i}") for i in range(2)]
    fe = port()
    sluice(config(f"""
        listen li
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content accept if {{ req.len ge 5 }}
            balance roundrobin
            stick-table type string len 4 size 100 expire 30s
            stick on req.payload(0,5)
            server s0 {ids[0].addr}
            server s1 {ids[1].addr}
        """), ports=[fe])

    def who(key):
        s = connect(fe)
        s.sendall(key)
        name = read_line(s)
        s.close()
        return name

    first = who(b"abcd1")
    assert [who(b"abcd%d" % i) for i in range(2, 7)] == [first] * 5
    other = who(b"wxyz1")
    assert other != first  # roundrobin's next server: a different key


def test_peers_table_shared_by_two_backends(sluice, servers, port):
    """A table declared in a peers section, named PEERS/NAME."""
    a, b = servers.ident("a"), servers.ident("b")
    fe = port()
    sluice(config(f"""
        peers local
            table sticky type ip size 1k expire 30s

        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be

        backend be
            balance roundrobin
            stick on src table local/sticky
            server a {a.addr}
            server b {b.addr}
        """), ports=[fe])
    home = {src: ask_id(fe, src=src) for src in SOURCES[:4]}
    assert set(home.values()) == {"a", "b"}
    for src in SOURCES[:4]:
        assert ask_id(fe, src=src) == home[src]
