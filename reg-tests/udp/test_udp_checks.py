"""Health checks of UDP servers (udp-check): a server that stops answering
leaves rotation within fall x inter, its live sessions move on their next
datagram, and it comes back after rise good checks."""
import time

from lib.checksrv import Stopwatch, wait_log
from lib.config import config
from lib.env import tmo
from lib.udpsrv import UdpRestartable, UdpServer, ask, ask_name, client

INTER = 0.2


def _cfg(fe, srvs, check_lines, srv_opts="check inter 200ms fall 2 rise 2"):
    lines = "\n".join(f"    server {s.name} {s.addr} {srv_opts}" for s in srvs)
    return config(f"""
        frontend fe
            mode udp
            bind 127.0.0.1:{fe}
            timeout client 10s
            default_backend be

        backend be
            mode udp
            balance roundrobin
            option log-health-checks
            {check_lines}
""") + lines + "\n"


def _restartables(reg, names):
    out = []
    for n in names:
        r = UdpRestartable(n)
        reg._add(r)
        out.append(r)
    return out


def test_dead_server_leaves_within_fall_inter_and_sessions_move(sluice, servers, port):
    s1, s2 = _restartables(servers, ["s1", "s2"])
    fe = port()
    sl = sluice(_cfg(fe, [s1, s2], "udp-check send ping expect s"), ports=[fe])
    c1, c2 = client(), client()
    homes = {ask_name(c1, fe): c1, ask_name(c2, fe): c2}
    assert set(homes) == {"s1", "s2"}
    s1.down()
    sw = Stopwatch()
    idx = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    took = sw.elapsed()
    assert idx >= 0, sl.describe()
    assert took <= tmo(2 * INTER + INTER + 0.35), f"down after {took:.2f}s"
    assert "Connection refused" in sl.log_lines()[idx], sl.log_lines()[idx]
    # the session that was on s1 moves on its next datagram; s2's stays
    assert ask_name(homes["s1"], fe, b"moved") == "s2"
    assert ask_name(homes["s2"], fe, b"stays") == "s2"
    # new clients only get s2
    assert {ask_name(client(), fe) for _ in range(4)} == {"s2"}
    s1.up()
    assert wait_log(sl, "Server be/s1 is UP", timeout=5) >= 0, sl.describe()
    assert {ask_name(client(), fe) for _ in range(4)} == {"s1", "s2"}


def test_wrong_reply_marks_the_server_down(sluice, servers, port):
    class Wrong(UdpServer):
        def answer(self, data, peer):
            return b"nope" if data == b"\x01\x02" else data
    w = Wrong()
    servers._add(w)
    w.name = "w"
    fe = port()
    sl = sluice(_cfg(fe, [w], "udp-check send-binary 0102 expect-binary 0304"), ports=[fe])
    idx = wait_log(sl, "Server be/w is DOWN", timeout=5)
    assert idx >= 0, sl.describe()


def test_right_binary_reply_keeps_the_server_up(sluice, servers, port):
    class Right(UdpServer):
        def answer(self, data, peer):
            return b"\x00\x03\x04\x00" if data == b"\x01\x02" else data
    r = Right()
    servers._add(r)
    r.name = "r"
    fe = port()
    sl = sluice(_cfg(fe, [r], "udp-check send-binary 0102 expect-binary 0304"), ports=[fe])
    time.sleep(1.0)
    assert not any("is DOWN" in ln for ln in sl.log_lines()), sl.describe()
    assert ask(client(), fe, b"data")[0] == b"data"  # traffic still flows
