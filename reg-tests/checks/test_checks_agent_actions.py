"""Agent checks (weight, up/down, drain/maint/ready), what happens to live
sessions when a server goes down or a primary comes back, slow start,
track, and passive observation (observe layer4)."""
import time
from collections import Counter

from lib.checksrv import AgentServer, Restartable, Stopwatch, wait_for, wait_log
from lib.client import ask_id, hold_id, wait_closed, silent_for
from lib.config import config, start_fe_be
from lib.env import tmo


def _start(sluice, port, body_lines, be_extra=(), glob=""):
    return start_fe_be(sluice, port, ["balance roundrobin", *be_extra, *body_lines],
                       global_extra=glob)


def _restartable(servers, name):
    return servers._add(Restartable(name))


def _agent(servers, reply):
    return servers._add(AgentServer(reply=reply))


def _spread(fe, n):
    return Counter(ask_id(fe) for _ in range(n))


def test_agent_weight_and_states(sluice, servers, port):
    s1, s2 = servers.ident("s1"), servers.ident("s2")
    ag = _agent(servers, b"100%\n")
    fe, sl = _start(sluice, port, [
        f"server s1 {s1.addr} weight 100",
        f"server s2 {s2.addr} weight 100 agent-check agent-port {ag.port} "
        f"agent-inter 100ms agent-addr 127.0.0.1"])
    assert _spread(fe, 20) == {"s1": 10, "s2": 10}
    ag.reply = b"50%\n"
    assert wait_for(lambda: _spread(fe, 30) == {"s1": 20, "s2": 10}, 3, step=0.2)
    ag.reply = b"drain\n"
    assert wait_for(lambda: _spread(fe, 6) == {"s1": 6}, 3, step=0.2)
    ag.reply = b"ready 100%\n"
    assert wait_for(lambda: _spread(fe, 20) == {"s1": 10, "s2": 10}, 3, step=0.2)
    ag.reply = b"down #disk full\n"
    i = wait_log(sl, "Server be/s2 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "disk full" in sl.log_lines()[i]
    assert _spread(fe, 6) == {"s1": 6}
    ag.reply = b"up\n"
    assert wait_log(sl, "Server be/s2 is UP", timeout=5, start=i + 1) >= 0
    assert _spread(fe, 20) == {"s1": 10, "s2": 10}
    ag.reply = b"maint\n"
    assert wait_for(lambda: _spread(fe, 6) == {"s1": 6}, 3, step=0.2)
    assert any("be/s2" in ln and "maintenance" in ln for ln in sl.log_lines()), sl.describe()


def test_agent_send_and_unreachable_agent(sluice, servers, port):
    s1 = servers.ident("s1")
    ag = _agent(servers, b"75%\n")
    fe, sl = _start(sluice, port, [
        f"server s1 {s1.addr} agent-check agent-port {ag.port} agent-inter 100ms "
        f"agent-send \"hello agent\\n\"",
        f"server s2 {servers.ident('s2').addr} agent-check agent-port "
        f"{servers.refused().split(':')[1]} agent-inter 100ms"])
    assert wait_for(lambda: any(r == b"hello agent\n" for r in ag.requests), 3)
    time.sleep(0.4)
    # an agent that cannot be reached does not change the server's state
    assert not any("be/s2 is DOWN" in ln for ln in sl.log_lines()), sl.describe()
    assert set(_spread(fe, 4)) == {"s1", "s2"}


def test_on_marked_down_shutdown_sessions(sluice, servers, port):
    a, b = _restartable(servers, "a"), _restartable(servers, "b")
    fe, sl = _start(sluice, port, [
        f"server a {a.addr} check inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions",
        f"server b {b.addr} check inter 100ms fall 1 rise 1"])
    held = {}
    for _ in range(4):
        name, sock = hold_id(fe)
        held.setdefault(name, []).append(sock)
    assert set(held) == {"a", "b"}
    a.down()  # stops listening; the sessions already open stay open
    assert wait_log(sl, "Server be/a is DOWN", timeout=5) >= 0
    for s in held["a"]:
        assert wait_closed(s, 3), "session on the down server was not cut"
    for s in held["b"]:
        assert silent_for(s, 0.3), "session on the healthy server was cut"
    for socks in held.values():
        for s in socks:
            s.close()
    recs = sl.wait_sessions(2, pred=lambda r: r["s"] == "a")
    assert any(r["ts"].startswith("D") for r in recs), recs


def test_sessions_survive_a_down_without_the_option(sluice, servers, port):
    a = _restartable(servers, "a")
    fe, sl = _start(sluice, port, [
        f"server a {a.addr} check inter 100ms fall 1 rise 1",
        f"server b {servers.ident('b').addr} check inter 100ms fall 1 rise 1"])
    name, sock = hold_id(fe)
    if name != "a":
        sock.close()
        name, sock = hold_id(fe)
    assert name == "a"
    a.down()
    assert wait_log(sl, "Server be/a is DOWN", timeout=5) >= 0
    assert silent_for(sock, 0.3)
    sock.sendall(b"still here\n")
    assert sock.recv(64) == b"still here\n"
    sock.close()


def test_on_marked_up_shutdown_backup_sessions(sluice, servers, port):
    p = _restartable(servers, "p")
    bk = servers.ident("bk")
    fe, sl = _start(sluice, port, [
        f"server p {p.addr} check inter 100ms fall 1 rise 1 "
        f"on-marked-up shutdown-backup-sessions",
        f"server bk {bk.addr} check inter 100ms fall 1 rise 1 backup"])
    p.down()
    assert wait_log(sl, "Server be/p is DOWN", timeout=5) >= 0
    name, sock = hold_id(fe)
    assert name == "bk"
    p.up()
    assert wait_log(sl, "Server be/p is UP", timeout=5) >= 0
    assert wait_closed(sock, 3), "backup session not cut when the primary came back"
    sock.close()
    assert ask_id(fe) == "p"


def test_slowstart_ramps_the_weight(sluice, servers, port):
    a = _restartable(servers, "a")
    b = servers.ident("b")
    fe, sl = _start(sluice, port, [
        f"server a {a.addr} check inter 100ms fall 1 rise 1 slowstart 3s",
        f"server b {b.addr} check inter 100ms fall 1 rise 1"])
    a.down()
    assert wait_log(sl, "Server be/a is DOWN", timeout=5) >= 0
    a.up()
    assert wait_log(sl, "Server be/a is UP", timeout=5) >= 0
    sw = Stopwatch()
    early = _spread(fe, 40)
    assert early["a"] <= 10, f"{early} right after coming back (slow start 3s)"
    time.sleep(max(0, 3.3 - sw.elapsed()))
    late = _spread(fe, 40)
    assert late == {"a": 20, "b": 20}, late


def test_track_follows_the_tracked_server(sluice, servers, port):
    a = _restartable(servers, "a")
    t = servers.ident("t")
    o = servers.ident("o")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be2

        backend be1
            server a {a.addr} check inter 100ms fall 1 rise 1

        backend be2
            server t {t.addr} track be1/a
            server o {o.addr}
        """)
    sl = sluice(cfg, ports=[fe])
    assert set(_spread(fe, 4)) == {"t", "o"}
    a.down()
    i = wait_log(sl, "Server be2/t is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "via be1/a" in sl.log_lines()[i]
    assert _spread(fe, 4) == {"o": 4}
    a.up()
    assert wait_log(sl, "Server be2/t is UP", timeout=5) >= 0
    assert set(_spread(fe, 4)) == {"t", "o"}


def test_observe_layer4_marks_down_before_the_next_check(sluice, servers, port):
    a = _restartable(servers, "a")
    b = servers.ident("b")
    fe, sl = _start(sluice, port, [
        f"server a {a.addr} check inter 30s fall 3 rise 1 observe layer4 "
        f"error-limit 2 on-error mark-down",
        f"server b {b.addr}"], be_extra=["retries 0"])
    time.sleep(0.2)  # let the first check run (it passes)
    a.down()
    sw = Stopwatch()
    fails = 0
    for _ in range(10):
        try:
            ask_id(fe, timeout=2)
        except (OSError, EOFError, TimeoutError):
            fails += 1
        if any("Server be/a is DOWN" in ln for ln in sl.log_lines()):
            break
    assert wait_log(sl, "Server be/a is DOWN", timeout=2) >= 0, sl.describe()
    assert sw.elapsed() < tmo(5), "should not wait for the 30s check"
    assert fails == 2, f"{fails} failed sessions, error-limit is 2"
    assert _spread(fe, 4) == {"b": 4}
