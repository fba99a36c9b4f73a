"""Balance algorithms, seen from outside: which server answers each
connection. Every server is an IdServer that says its name first."""
import time
from collections import Counter

import pytest

from lib.client import ask_id, hold_id, close_gracefully
from lib.config import start_fe_be


def _backend(servers, names, algo, extra_lines=(), srv_opts=None):
    srv_opts = srv_opts or {}
    srvs = {n: servers.ident(n) for n in names}
    lines = [f"balance {algo}", *extra_lines]
    for n, s in srvs.items():
        opt = srv_opts.get(n, "")
        lines.append(f"server {n} {s.addr}{(' ' + opt) if opt else ''}")
    return srvs, lines


def _start(sluice, port, backend_lines, global_extra=""):
    return start_fe_be(sluice, port, backend_lines, global_extra=global_extra)


def _is_rotation(seq, cycle):
    """seq is cycle repeated, starting anywhere in the cycle."""
    if not seq or seq[0] not in cycle:
        return False
    k = cycle.index(seq[0])
    return all(x == cycle[(i + k) % len(cycle)] for i, x in enumerate(seq))


@pytest.mark.parametrize("nbthread", [None, 1, 2])
@pytest.mark.parametrize("algo", ["roundrobin", "static-rr"])
def test_round_robin_exact_spread(sluice, servers, port, algo, nbthread):
    """3 equal servers, 30 sequential connections: s1,s2,s3,s1,... (any
    starting point), 10 each, whatever the number of threads."""
    srvs, be = _backend(servers, ["s1", "s2", "s3"], algo)
    glob = f"nbthread {nbthread}" if nbthread else ""
    fe, _ = _start(sluice, port, be, glob)
    seq = [ask_id(fe) for _ in range(30)]
    assert _is_rotation(seq, ["s1", "s2", "s3"]), seq
    assert Counter(seq) == {"s1": 10, "s2": 10, "s3": 10}
    assert [s.accepted for s in srvs.values()] == [10, 10, 10]


@pytest.mark.parametrize("algo", ["roundrobin", "static-rr"])
def test_weights_exact_ratio(sluice, servers, port, algo):
    """weight 1 vs weight 3: exactly 10 and 30 of 40 connections."""
    _, be = _backend(servers, ["s1", "s2"], algo,
                     srv_opts={"s1": "weight 1", "s2": "weight 3"})
    fe, _ = _start(sluice, port, be)
    seq = [ask_id(fe) for _ in range(40)]
    assert Counter(seq) == {"s1": 10, "s2": 30}, seq


def test_disabled_server_gets_nothing(sluice, servers, port):
    srvs, be = _backend(servers, ["s1", "s2", "s3"], "roundrobin",
                        srv_opts={"s1": "disabled"})
    fe, _ = _start(sluice, port, be)
    seq = [ask_id(fe) for _ in range(12)]
    assert _is_rotation(seq, ["s2", "s3"]), seq
    time.sleep(0.1)
    assert srvs["s1"].accepted == 0


def _short_session(fe, sl):
    """One connection that ends before the next starts: wait for its log
    line, so the proxy has already released the server slot."""
    before = len(sl.sessions())
    name = ask_id(fe)
    sl.wait_sessions(before + 1)
    time.sleep(0.05)
    return name


def test_leastconn_long_held(sluice, servers, port):
    """Two connections held on one server, one on the other: every short
    connection goes to the less loaded one, where roundrobin would
    alternate."""
    _, be = _backend(servers, ["s1", "s2"], "leastconn")
    fe, sl = _start(sluice, port, be)
    held = []
    try:
        a, sa = hold_id(fe)
        held.append(sa)
        b, sb = hold_id(fe)
        held.append(sb)
        assert a != b, "2nd connection went to the server already busy"
        z, sz = hold_id(fe)
        held.append(sz)
        w = "s2" if z == "s1" else "s1"
        seq = [_short_session(fe, sl) for _ in range(8)]
        assert seq == [w] * 8, f"{z} holds 2, {w} holds 1: {seq}"
    finally:
        for s in held:
            s.close()


def test_first_fills_servers_in_order(sluice, servers, port):
    """balance first: s1 until its maxconn, then s2, then s3."""
    opts = {n: "maxconn 2" for n in ("s1", "s2", "s3")}
    _, be = _backend(servers, ["s1", "s2", "s3"], "first", srv_opts=opts)
    fe, sl = _start(sluice, port, be)
    assert [_short_session(fe, sl) for _ in range(5)] == ["s1"] * 5
    held = []
    try:
        for _ in range(5):
            held.append(hold_id(fe))
        assert [n for n, _ in held] == ["s1", "s1", "s2", "s2", "s3"]
        before = len(sl.sessions())
        close_gracefully(held.pop(0)[1])
        sl.wait_sessions(before + 1)
        time.sleep(0.05)
        held.append(hold_id(fe))
        assert held[-1][0] == "s1", "a slot freed on s1 must be used first"
    finally:
        for _, s in held:
            s.close()


def test_random_spreads(sluice, servers, port):
    """balance random: 90 connections reach every server several times."""
    _, be = _backend(servers, ["s1", "s2", "s3"], "random")
    fe, _ = _start(sluice, port, be)
    counts = Counter(ask_id(fe) for _ in range(90))
    assert set(counts) == {"s1", "s2", "s3"}, counts
    assert min(counts.values()) >= 2, counts


SOURCES = [f"127.0.0.{i}" for i in range(2, 18)]


def _map_sources(fe, rounds=3):
    """source address -> server, checking every round agrees."""
    mapping = {}
    for _ in range(rounds):
        for src in SOURCES:
            name = ask_id(fe, src=src)
            assert mapping.setdefault(src, name) == name, \
                f"{src} went to {mapping[src]} then to {name}"
    return mapping


@pytest.mark.parametrize("algo,hash_type", [
    ("source", None),
    ("source", "consistent"),
    ("hash src", "map-based"),
    ("hash src", "consistent"),
])
def test_source_affinity(sluice, servers, port, algo, hash_type):
    """Same client address -> same server, every time; 16 addresses that
    differ only in their last byte still use more than one server."""
    extra = [f"hash-type {hash_type}"] if hash_type else []
    _, be = _backend(servers, ["s1", "s2", "s3"], algo, extra)
    fe, _ = _start(sluice, port, be)
    mapping = _map_sources(fe)
    assert len(set(mapping.values())) >= 2, mapping


def test_consistent_hash_moves_only_removed_server(sluice, servers, port):
    """hash src + consistent: remove s3 from the configuration and only the
    addresses that were on s3 move."""
    names = ["s1", "s2", "s3"]
    srvs, be3 = _backend(servers, names, "hash src", ["hash-type consistent"])
    fe1, sl1 = _start(sluice, port, be3)
    before = _map_sources(fe1, rounds=1)
    sl1.stop()
    assert "s3" in before.values(), f"no address on s3: {before}"
    be2 = [ln for ln in be3 if "server s3 " not in ln]
    fe2, _ = _start(sluice, port, be2)
    after = _map_sources(fe2, rounds=1)
    for src, name in before.items():
        if name != "s3":
            assert after[src] == name, f"{src} moved from {name} to {after[src]}"
        else:
            assert after[src] in ("s1", "s2")
