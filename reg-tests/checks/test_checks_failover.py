"""Health checks seen from outside: a server that dies leaves rotation within
fall x inter (+ one interval), comes back after rise successes; backups
serve only when no primary is up. Servers are Restartable IdServers: down()
makes connections refused like a dead process, up() listens again."""
import time
from collections import Counter

from lib.checksrv import Restartable, Stopwatch, wait_log
from lib.client import ask_id
from lib.config import start_fe_be
from lib.env import tmo

INTER = 0.2


def _try_id(fe):
    try:
        return ask_id(fe, timeout=2)
    except (OSError, EOFError, TimeoutError):
        return None


def _start(sluice, port, servers_lines, be_extra=(), glob=""):
    return start_fe_be(sluice, port, ["balance roundrobin", *be_extra, *servers_lines],
                       global_extra=glob)


def _restartables(servers, names):
    out = {}
    for n in names:
        r = Restartable(n)
        servers._add(r)
        out[n] = r
    return out


def test_failover_within_fall_times_inter_and_return_after_rise(sluice, servers, port):
    srv = _restartables(servers, ["s1", "s2"])
    fe, sl = _start(sluice, port, [
        f"server s1 {srv['s1'].addr} check inter 200ms fall 2 rise 3",
        f"server s2 {srv['s2'].addr} check inter 200ms fall 2 rise 3"])
    assert Counter(ask_id(fe) for _ in range(10)) == {"s1": 5, "s2": 5}

    srv["s1"].down()
    sw = Stopwatch()
    idx = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    took = sw.elapsed()
    assert idx >= 0, sl.describe()
    # fall x inter, plus one interval for the phase of the check clock
    assert took <= tmo(2 * INTER + INTER + 0.35), f"down after {took:.2f}s"
    line = sl.log_lines()[idx]
    assert "reason: Layer4 connection problem" in line, line
    assert "Connection refused" in line, line
    assert "1 active and 0 backup servers left" in line, line
    # from now on, every new session goes to s2
    assert [ask_id(fe) for _ in range(10)] == ["s2"] * 10

    srv["s1"].up()
    sw = Stopwatch()
    idx = wait_log(sl, "Server be/s1 is UP", timeout=5)
    took = sw.elapsed()
    assert idx >= 0, sl.describe()
    assert took >= 2 * INTER, f"up after {took:.2f}s, before rise=3 checks"
    assert took <= tmo(3 * INTER + INTER + 0.35), f"up after {took:.2f}s"
    assert "2 active and 0 backup servers online" in sl.log_lines()[idx]
    assert Counter(ask_id(fe) for _ in range(10)) == {"s1": 5, "s2": 5}


def test_no_session_sent_to_a_down_server(sluice, servers, port):
    """Between the DOWN line and the return, not a single connection is
    attempted on the dead server (no retries needed, no SC errors)."""
    srv = _restartables(servers, ["s1", "s2"])
    fe, sl = _start(sluice, port, [
        f"server s1 {srv['s1'].addr} check inter 100ms fall 1 rise 1",
        f"server s2 {srv['s2'].addr} check inter 100ms fall 1 rise 1"])
    srv["s1"].down()
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=5) >= 0
    before = len(sl.sessions())
    got = [ask_id(fe) for _ in range(20)]
    assert got == ["s2"] * 20
    recs = sl.wait_sessions(before + 20)
    assert all(r["ts"] == "--" for r in recs[before:]), recs[before:]


def test_backup_only_when_all_primaries_down(sluice, servers, port):
    srv = _restartables(servers, ["p1", "p2", "b1", "b2"])
    chk = "check inter 100ms fall 1 rise 1"
    fe, sl = _start(sluice, port, [
        f"server p1 {srv['p1'].addr} {chk}",
        f"server p2 {srv['p2'].addr} {chk}",
        f"server b1 {srv['b1'].addr} {chk} backup",
        f"server b2 {srv['b2'].addr} {chk} backup"])
    assert set(ask_id(fe) for _ in range(8)) == {"p1", "p2"}
    srv["p1"].down()
    assert wait_log(sl, "Server be/p1 is DOWN", timeout=5) >= 0
    assert set(ask_id(fe) for _ in range(6)) == {"p2"}
    srv["p2"].down()
    i = wait_log(sl, "Server be/p2 is DOWN", timeout=5)
    assert i >= 0
    assert "0 active and 2 backup servers left" in sl.log_lines()[i]
    # without allbackups: only the first backup serves
    assert set(ask_id(fe) for _ in range(6)) == {"b1"}
    srv["p1"].up()
    assert wait_log(sl, "Server be/p1 is UP", timeout=5) >= 0
    assert set(ask_id(fe) for _ in range(6)) == {"p1"}


def test_allbackups_spreads_over_every_backup(sluice, servers, port):
    srv = _restartables(servers, ["p1", "b1", "b2"])
    chk = "check inter 100ms fall 1 rise 1"
    fe, sl = _start(sluice, port, [
        f"server p1 {srv['p1'].addr} {chk}",
        f"server b1 {srv['b1'].addr} {chk} backup",
        f"server b2 {srv['b2'].addr} {chk} backup"], be_extra=["option allbackups"])
    assert set(ask_id(fe) for _ in range(4)) == {"p1"}
    srv["p1"].down()
    assert wait_log(sl, "Server be/p1 is DOWN", timeout=5) >= 0
    assert Counter(ask_id(fe) for _ in range(10)) == {"b1": 5, "b2": 5}


def test_last_server_down_alerts_and_fails_fast(sluice, servers, port):
    srv = _restartables(servers, ["s1"])
    fe, sl = _start(sluice, port, [
        f"server s1 {srv['s1'].addr} check inter 100ms fall 1 rise 1"])
    srv["s1"].down()
    assert wait_log(sl, "backend be has no server available!", timeout=5) >= 0
    sw = Stopwatch()
    assert _try_id(fe) is None
    assert sw.elapsed() < 1.0, "no server: the client is closed at once"
    srv["s1"].up()
    assert wait_log(sl, "Server be/s1 is UP", timeout=5) >= 0
    assert ask_id(fe) == "s1"


def test_default_server_and_defaults_carry_check_settings(sluice, servers, port):
    srv = _restartables(servers, ["s1", "s2"])
    _, sl = start_fe_be(sluice, port, [
        "default-server check inter 100ms fall 1 rise 1",
        f"server s1 {srv['s1'].addr}",
        f"server s2 {srv['s2'].addr} no-check"])
    srv["s1"].down()
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=5) >= 0
    srv["s2"].down()
    time.sleep(0.5)
    # s2 is not checked: it never goes down
    assert not any("be/s2" in ln for ln in sl.log_lines())


def test_dead_servers_do_not_cause_a_cpu_storm(sluice, servers, port):
    """40 refused servers checked every 100 ms for 2 s: a few hundred
    failed connects, no busy loop."""
    from lib.sluice import cpu_seconds
    fe = port()
    lines = [f"server d{i} {servers.refused()} check inter 100ms fall 1 rise 1"
             for i in range(40)]
    _, sl = _start(sluice, lambda: fe, lines)
    time.sleep(0.5)
    c0 = cpu_seconds(sl.pid)
    time.sleep(2.0)
    used = cpu_seconds(sl.pid) - c0
    assert used < tmo(0.5), f"{used:.2f}s of CPU in 2s"


def test_checks_spread_over_two_threads(sluice, servers, port):
    srv = _restartables(servers, [f"s{i}" for i in range(6)])
    fe, sl = _start(sluice, port, [
        f"server {n} {r.addr} check inter 100ms fall 1 rise 1"
        for n, r in srv.items()], glob="nbthread 2")
    for n in ("s1", "s4"):
        srv[n].down()
    for n in ("s1", "s4"):
        assert wait_log(sl, f"Server be/{n} is DOWN", timeout=5) >= 0
    got = Counter(ask_id(fe) for _ in range(8))
    assert set(got) == {"s0", "s2", "s3", "s5"}, got
