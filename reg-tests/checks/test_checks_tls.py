"""TLS health checks against real OpenSSL/Python TLS servers:
option ssl-hello-chk (a hello, no handshake completed) and check-ssl (a
full handshake through OpenSSL, with check-sni and verify)."""
from lib.checksrv import (ReplyServer, SilentServer, TlsIdServer, make_cert,
                          wait_log)
from lib.client import ask_id
from lib.config import start_fe_be

CHK = "check inter 150ms fall 1 rise 1"


def _start(sluice, port, srv_line, be_lines=(), glob=""):
    return start_fe_be(sluice, port, [*be_lines, srv_line], global_extra=glob)


def _tls(servers, tmp_path, name="a.example"):
    cert, key = make_cert(str(tmp_path), name)
    return servers._add(TlsIdServer(name, cert, key)), cert


def test_ssl_hello_chk_against_a_tls_server(sluice, servers, port, tmp_path):
    tls, _ = _tls(servers, tmp_path)
    _, sl = _start(sluice, port, f"server t1 {tls.addr} {CHK}", ["option ssl-hello-chk"])
    assert wait_log(sl, "Server be/t1 is DOWN", timeout=0.8) < 0, sl.describe()
    assert tls.accepted >= 3


def test_ssl_hello_chk_fails_on_a_plain_server(sluice, servers, port):
    rs = servers._add(ReplyServer(greeting=b"SSH-2.0-OpenSSH_9.2\r\n", expect_len=-1))
    _, sl = _start(sluice, port, f"server t1 {rs.addr} {CHK}", ["option ssl-hello-chk"])
    i = wait_log(sl, "Server be/t1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "Layer6 invalid response" in sl.log_lines()[i]


def test_check_ssl_completes_a_handshake_with_sni(sluice, servers, port, tmp_path):
    tls, _ = _tls(servers, tmp_path)
    fe, sl = _start(sluice, port,
                    f"server t1 {tls.addr} {CHK} check-ssl check-sni a.example verify none")
    assert wait_log(sl, "Server be/t1 is DOWN", timeout=0.8) < 0, sl.describe()
    assert tls.handshakes >= 3
    assert "a.example" in tls.snis
    # traffic is not decrypted: the client sees the TLS server's bytes
    import socket
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", fe), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="a.example") as c:
            assert c.recv(64).startswith(b"a.example")


def test_check_ssl_verify_required_with_ca_file(sluice, servers, port, tmp_path):
    tls, cert = _tls(servers, tmp_path)
    _, sl = _start(sluice, port,
                   f"server t1 {tls.addr} {CHK} check-ssl check-sni a.example "
                   f"verify required ca-file {cert}")
    assert wait_log(sl, "Server be/t1 is DOWN", timeout=0.8) < 0, sl.describe()
    assert tls.handshakes >= 3


def test_check_ssl_verify_fails_with_the_wrong_ca(sluice, servers, port, tmp_path):
    tls, _ = _tls(servers, tmp_path, "a.example")
    other, _ = make_cert(str(tmp_path), "other.example")
    _, sl = _start(sluice, port,
                   f"server t1 {tls.addr} {CHK} check-ssl verify required ca-file {other}")
    i = wait_log(sl, "Server be/t1 is DOWN", timeout=5)
    assert i >= 0, sl.describe()
    assert "Layer6 invalid response" in sl.log_lines()[i]


def test_check_ssl_against_garbage_and_a_silent_peer(sluice, servers, port):
    garbage = servers._add(ReplyServer(greeting=b"\x00garbage\xff" * 10, expect_len=-1))
    silent = servers._add(SilentServer())
    _, sl = start_fe_be(sluice, port, [
        "timeout check 300ms",
        f"server g1 {garbage.addr} {CHK} check-ssl verify none",
        f"server h1 {silent.addr} check inter 1s fall 1 rise 1 check-ssl verify none"])
    i = wait_log(sl, "Server be/g1 is DOWN", timeout=5)
    assert i >= 0 and "Layer6 invalid response" in sl.log_lines()[i], sl.describe()
    i = wait_log(sl, "Server be/h1 is DOWN", timeout=5)
    assert i >= 0 and "Layer6 timeout" in sl.log_lines()[i], sl.describe()
    assert sl.alive()


def test_ask_id_still_balances_plain_servers(sluice, servers, port):
    s1 = servers.ident("s1")
    fe, _ = _start(sluice, port, f"server s1 {s1.addr} {CHK}")
    assert ask_id(fe) == "s1"
