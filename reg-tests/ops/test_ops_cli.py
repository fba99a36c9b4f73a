"""The runtime API over real UNIX and TCP sockets: HAProxy's commands and
formats, levels, routing changes, tables, dynamic servers, bad input."""
import socket
import time
from collections import Counter

from lib.client import ask_id, hold_id, wait_closed
from lib.config import config
from lib.env import tmo


def cli(path, line, timeout=5.0):
    """Send one command line, return the whole answer."""
    deadline = time.monotonic() + tmo(timeout)
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(tmo(timeout))
        try:
            s.connect(str(path))
            break
        except BlockingIOError:  # the listen backlog is full: wait a little
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def _start(sluice, servers, port, tmp_path, extra_be="", extra_glob=""):
    s1, s2 = servers.ident("s1"), servers.ident("s2")
    fe = port()
    admin, user = tmp_path / "admin.sock", tmp_path / "user.sock"
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be

        backend be
            balance roundrobin
            {extra_be}
            server s1 {s1.addr}
            server s2 {s2.addr}
        """, global_extra=f"""
        stats socket {admin} level admin
        stats socket {user} mode 600 level user
        {extra_glob}
        """)
    sl = sluice(cfg, ports=[fe])
    return fe, sl, admin, user, (s1, s2)


def test_show_info_stat_and_servers_state(sluice, servers, port, tmp_path):
    fe, sl, admin, user, _ = _start(sluice, servers, port, tmp_path)
    info = cli(admin, "show info")
    assert "Name: sluice" in info and f"Pid: {sl.pid}" in info, info
    ask_id(fe)
    stat = cli(user, "show stat").splitlines()
    assert stat[0].startswith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,"), stat[0]
    cols = stat[0][2:].split(",")
    rows = {(r.split(",")[0], r.split(",")[1]): dict(zip(cols, r.split(","))) for r in stat[1:] if r}
    assert rows[("be", "s1")]["status"] == "UP"
    assert rows[("fe", "FRONTEND")]["stot"] == "1"
    assert ("be", "BACKEND") in rows
    state = cli(user, "show servers state be").splitlines()
    assert state[0] == "1" and state[1].startswith("# be_id be_name srv_id srv_name srv_addr")
    assert any(" be 1 s1 127.0.0.1 2 0 " in ln for ln in state), state
    assert "1 (initial 1)" in cli(user, "get weight be/s1")


def test_disable_enable_changes_routing_and_levels_are_enforced(sluice, servers, port, tmp_path):
    fe, _, admin, user, _ = _start(sluice, servers, port, tmp_path)
    assert "Permission denied" in cli(user, "disable server be/s1")
    assert cli(admin, "disable server be/s1").strip() == ""
    assert {ask_id(fe) for _ in range(4)} == {"s2"}
    cli(admin, "enable server be/s1")
    assert Counter(ask_id(fe) for _ in range(4)) == {"s1": 2, "s2": 2}
    cli(admin, "set server be/s2 state drain")
    assert {ask_id(fe) for _ in range(4)} == {"s1"}
    cli(admin, "set server be/s2 state ready")
    cli(admin, "set weight be/s1 3")
    assert "3 (initial 1)" in cli(admin, "get weight be/s1")
    assert Counter(ask_id(fe) for _ in range(8)) == {"s1": 6, "s2": 2}
    assert "No such backend." in cli(admin, "disable server nope/s1")
    assert "No such server." in cli(admin, "disable server be/nope")


def test_shutdown_sessions_and_show_sess(sluice, servers, port, tmp_path):
    fe, _, admin, _, _ = _start(sluice, servers, port, tmp_path)
    held = [hold_id(fe)[1] for _ in range(2)]
    sess = cli(admin, "show sess")
    assert sess.count("be=be") >= 2, sess
    cli(admin, "shutdown sessions server be/s1")
    states = [wait_closed(s, 1)[0] for s in held]
    assert states.count("open") == 1, states  # the session on s2 lives on
    for s in held:
        s.close()


def test_show_set_clear_table(sluice, servers, port, tmp_path):
    fe, _, admin, user, _ = _start(
        sluice, servers, port, tmp_path,
        extra_be="stick-table type ip size 100 expire 1m store conn_cnt,gpc0\n"
                 "            tcp-request content track-sc0 src")
    ask_id(fe)
    assert "# table: be, type: ip, size:100, used:1" in cli(user, "show table")
    entry = cli(user, "show table be")
    assert "key=127.0.0.1" in entry and "conn_cnt=1" in entry, entry
    cli(admin, "set table be key 127.0.0.9 data.gpc0 7")
    assert "gpc0=7" in cli(user, "show table be key 127.0.0.9")
    assert "Permission denied" in cli(user, "clear table be")
    cli(admin, "clear table be key 127.0.0.9")
    assert "used:1" in cli(user, "show table"), cli(user, "show table")


def test_add_and_del_server(sluice, servers, port, tmp_path):
    fe, _, admin, _, _ = _start(sluice, servers, port, tmp_path)
    s3 = servers.ident("s3")
    assert "New server registered." in cli(admin, f"add server be/s3 {s3.addr}")
    cli(admin, "enable server be/s3")
    assert {ask_id(fe) for _ in range(6)} == {"s1", "s2", "s3"}
    assert "maintenance" in cli(admin, "del server be/s3")
    cli(admin, "disable server be/s3")
    assert wait_for_text(lambda: cli(admin, "del server be/s3"), "Server deleted.")
    assert {ask_id(fe) for _ in range(6)} == {"s1", "s2"}


def wait_for_text(fn, text, timeout=3.0):
    deadline = time.monotonic() + tmo(timeout)
    while time.monotonic() < deadline:
        if text in fn():
            return True
        time.sleep(0.05)
    return False


def test_bad_input_never_crashes(sluice, servers, port, tmp_path):
    fe, sl, admin, _, _ = _start(sluice, servers, port, tmp_path, extra_glob="stats timeout 2s")
    assert "Unknown command" in cli(admin, "frobnicate the thing")
    assert "too long" in cli(admin, "show " + "x" * 40000)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(admin))
    s.sendall(b"\x00\x01\x02\xff garbage\n")
    s.settimeout(tmo(3))
    assert b"Invalid" in s.recv(4096)
    s.close()
    # a flood of clients that connect and say nothing
    idle = []
    for _ in range(30):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(str(admin))
        idle.append(c)
    for c in idle:
        c.close()
    assert "Name: sluice" in cli(admin, "show info")
    assert ask_id(fe) in ("s1", "s2") and sl.alive()


def test_prompt_mode_and_tcp_socket(sluice, servers, port, tmp_path):
    cport = port()
    _, _, admin, _, _ = _start(sluice, servers, port, tmp_path,
                               extra_glob=f"stats socket ipv4@127.0.0.1:{cport} level operator")
    s = socket.create_connection(("127.0.0.1", cport), timeout=tmo(5))
    s.sendall(b"prompt\n")
    time.sleep(0.2)
    s.sendall(b"get weight be/s1\n")
    buf = b""
    deadline = time.monotonic() + tmo(3)
    while b"(initial 1)" not in buf and time.monotonic() < deadline:
        buf += s.recv(4096)
    assert b"> " in buf and b"1 (initial 1)" in buf, buf
    s.sendall(b"quit\n")
    s.close()


def test_set_maxconn_server_serves_the_queue(sluice, servers, port, tmp_path):
    from lib.client import connect, read_line
    s1 = servers.ident("s1")
    fe = port()
    admin = tmp_path / "admin.sock"
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be
        backend be
            timeout queue 10s
            server s1 {s1.addr} maxconn 1
        """, global_extra=f"stats socket {admin} level admin"), ports=[fe])
    _, first = hold_id(fe)
    waiting = connect(fe)
    time.sleep(0.3)
    assert s1.accepted == 1          # the second one waits in the queue
    assert cli(admin, "set maxconn server be/s1 2").strip() == ""
    assert read_line(waiting) == "s1"
    assert "Permission denied" not in cli(admin, "set maxconn global 500")
    assert "Maxconn: 500" in cli(admin, "show info")
    first.close()
    waiting.close()
