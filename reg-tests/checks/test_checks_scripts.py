"""Check scripts: tcp-check send/expect, the built-in protocol checks
(redis, mysql, pgsql), check-send-proxy, timeout check and the
log-health-checks lines. A wrong reply marks the server down with its
reason, a right one brings it back."""
import struct

from lib.checksrv import ReplyServer, SilentServer, Stopwatch, wait_log
from lib.config import start_fe_be
from lib.env import tmo


def _start(sluice, port, srv_line, be_lines, glob=""):
    return start_fe_be(sluice, port, [*be_lines, srv_line], global_extra=glob)


def _reply_server(servers, **kw):
    return servers._add(ReplyServer(**kw))


CHK = "check inter 150ms fall 1 rise 1"


def test_tcp_check_send_expect_wrong_then_right(sluice, servers, port):
    rs = _reply_server(servers, reply=b"+PONG\r\n")
    _, sl = _start(sluice, port, f"server s1 {rs.addr} {CHK}", [
        "option tcp-check",
        "tcp-check send PING\\r\\n",
        "tcp-check expect string +PONG"])
    # healthy at start: no DOWN line after a few checks
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=0.6) < 0, sl.describe()
    assert any(r == b"PING\r\n" for r in rs.requests), rs.requests[:3]
    rs.reply = b"-ERR\r\n"
    i = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    line = sl.log_lines()[i]
    assert "reason: Layer7 invalid response" in line, line
    assert "+PONG" in line and "step 2" in line, line
    rs.reply = b"+PONG\r\n"
    i = wait_log(sl, "Server be/s1 is UP", timeout=5, start=i)
    assert i >= 0, sl.describe()
    assert "Layer7 check passed" in sl.log_lines()[i]


def test_tcp_check_negated_expect_and_comment(sluice, servers, port):
    rs = _reply_server(servers, reply=b"OK ready\n")
    _, sl = _start(sluice, port, f"server s1 {rs.addr} {CHK}", [
        "option tcp-check",
        "tcp-check send hello\\n",
        "tcp-check expect min-recv 2 ! string ERR comment no-error-reply"])
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=0.6) < 0, sl.describe()
    rs.reply = b"ERR busy\n"
    i = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "no-error-reply" in sl.log_lines()[i]


def test_tcp_check_binary_and_regex(sluice, servers, port):
    rs = _reply_server(servers, reply=b"\x00\x01status=200\n", expect_len=-1)
    _, sl = _start(sluice, port, f"server s1 {rs.addr} {CHK}", [
        "option tcp-check",
        "tcp-check send-binary 0a0b0c",
        "tcp-check expect binary 0001",
        "tcp-check expect rstring status=2[0-9]{2}"])
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=0.8) < 0, sl.describe()
    assert rs.requests and rs.requests[0] == b"\x0a\x0b\x0c"
    rs.reply = b"\x00\x01status=500\n"
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=5) >= 0


def test_timeout_check_on_a_silent_server(sluice, servers, port):
    ss = servers._add(SilentServer())
    sw = Stopwatch()
    _, sl = _start(sluice, port,
                   f"server s1 {ss.addr} check inter 2s fall 1 rise 1", [
                       "timeout check 300ms",
                       "option tcp-check",
                       "tcp-check expect string READY"])
    i = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert sw.elapsed() < tmo(2.0)
    assert "Layer7 timeout" in sl.log_lines()[i]


def test_redis_check(sluice, servers, port):
    rs = _reply_server(servers, reply=b"+PONG\r\n")
    _, sl = _start(sluice, port, f"server r1 {rs.addr} {CHK}",
                   ["option redis-check"])
    assert wait_log(sl, "Server be/r1 is DOWN", timeout=0.6) < 0, sl.describe()
    assert rs.requests and rs.requests[0].startswith(b"PING")
    rs.reply = b"-LOADING Redis is loading the dataset in memory\r\n"
    assert wait_log(sl, "Server be/r1 is DOWN", timeout=5) >= 0


def _mysql_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def _mysql_handshake():
    p = b"\x0a" + b"8.0.36-fake\x00" + struct.pack("<I", 7) + b"abcdefgh\x00"
    p += struct.pack("<H", 0xf7ff) + b"\x21" + struct.pack("<H", 2)
    p += struct.pack("<H", 0x81ff) + b"\x15" + b"\x00" * 10
    p += b"ijklmnopqrst\x00" + b"mysql_native_password\x00"
    return _mysql_packet(0, p)


MYSQL_OK = _mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00")
MYSQL_DENIED = _mysql_packet(2, b"\xff\x15\x04#28000Access denied for user 'chk'")


def test_mysql_check_with_user(sluice, servers, port):
    rs = _reply_server(servers, greeting=_mysql_handshake(), reply=MYSQL_OK,
                       expect_len=-1)
    _, sl = _start(sluice, port, f"server m1 {rs.addr} check inter 300ms fall 1 rise 1",
                   ["option mysql-check user chk"])
    assert wait_log(sl, "Server be/m1 is DOWN", timeout=1.0) < 0, sl.describe()
    assert rs.requests and b"chk\x00" in rs.requests[0], rs.requests[:2]
    rs.reply = MYSQL_DENIED
    i = wait_log(sl, "Server be/m1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "Access denied" in sl.log_lines()[i]


def test_mysql_check_without_user_reads_the_greeting(sluice, servers, port):
    rs = _reply_server(servers, greeting=_mysql_handshake(), expect_len=-1)
    _, sl = _start(sluice, port, f"server m1 {rs.addr} {CHK}",
                   ["option mysql-check"])
    assert wait_log(sl, "Server be/m1 is DOWN", timeout=0.6) < 0, sl.describe()
    rs.greeting = _mysql_packet(0, b"\xff\x69\x04Host is blocked")
    i = wait_log(sl, "Server be/m1 is DOWN", timeout=5)
    assert i >= 0 and "Host is blocked" in sl.log_lines()[i], sl.describe()


def test_pgsql_check(sluice, servers, port):
    auth_ok = b"R" + struct.pack(">II", 8, 0)
    rs = _reply_server(servers, reply=auth_ok, expect_len=-1)
    _, sl = _start(sluice, port, f"server p1 {rs.addr} {CHK}",
                   ["option pgsql-check user monitor"])
    assert wait_log(sl, "Server be/p1 is DOWN", timeout=0.6) < 0, sl.describe()
    req = rs.requests[0]
    assert struct.unpack(">I", req[4:8])[0] == 196608 and b"user\x00monitor\x00" in req
    fields = b"SFATAL\x00C28000\x00Mrole \"monitor\" does not exist\x00\x00"
    rs.reply = b"E" + struct.pack(">I", 4 + len(fields)) + fields
    i = wait_log(sl, "Server be/p1 is DOWN", timeout=5)
    assert i >= 0 and "does not exist" in sl.log_lines()[i], sl.describe()


def test_check_send_proxy_sends_a_local_header(sluice, servers, port):
    rs = _reply_server(servers, reply=b"OK\n")
    _, sl = _start(sluice, port, f"server s1 {rs.addr} {CHK} check-send-proxy", [
        "option tcp-check", "tcp-check expect string OK"])
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=0.6) < 0, sl.describe()
    assert rs.requests and rs.requests[0] == b"PROXY UNKNOWN\r\n", rs.requests[:2]


def test_check_port_and_addr(sluice, servers, port):
    """The check goes to "addr"/"port", not to the traffic address."""
    rs = _reply_server(servers, reply=b"OK\n")
    traffic = servers.ident("t1")
    _, sl = _start(
        sluice, port,
        f"server s1 {traffic.addr} {CHK} addr 127.0.0.1 port {rs.port}",
        ["option tcp-check", "tcp-check send hi\\n", "tcp-check expect string OK"])
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=0.6) < 0, sl.describe()
    assert rs.accepted >= 2 and traffic.accepted == 0
    rs.reply = b"NO\n"
    assert wait_log(sl, "Server be/s1 is DOWN", timeout=5) >= 0


def test_log_health_checks_reports_every_step(sluice, servers, port):
    rs = _reply_server(servers, reply=b"OK\n")
    _, sl = _start(sluice, port,
                   f"server s1 {rs.addr} check inter 100ms fall 3 rise 2", [
                       "option log-health-checks",
                       "option tcp-check", "tcp-check send x\\n",
                       "tcp-check expect string OK"])
    wait_log(sl, "Health check", timeout=0.5)
    rs.reply = b"KO\n"
    i = wait_log(sl, "Server be/s1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    failed = [ln for ln in sl.log_lines()[:i] if "Health check for server be/s1 failed" in ln]
    assert len(failed) >= 2, sl.describe()
    assert "status: 2/3 UP" in failed[0] and "status: 1/3 UP" in failed[1], failed
