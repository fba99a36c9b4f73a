"""SNI routing without decryption: two real TLS backends with their own
certificates; the client's TLS session reaches the chosen backend
unchanged, so the backend's own certificate reaches the client."""
import socket
import ssl
import subprocess
import time

from lib.checksrv import TlsIdServer, make_cert
from lib.client import ask_id, connect, read_line
from lib.config import config
from lib.env import tmo


def _tls_backends(servers, tmp_path, names):
    out = {}
    for n in names:
        cert, key = make_cert(str(tmp_path), n)
        out[n] = servers._add(TlsIdServer(n, cert, key))
    return out


def _sni_config(fe, tls, extra_fe="", default="be_default", default_addr=None):
    return config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content accept if {{ req.ssl_hello_type 1 }}
            use_backend be_a if {{ req.ssl_sni -i a.example }}
            use_backend be_b if {{ req.ssl_sni -m end .b.example }}
            {extra_fe}
            default_backend {default}

        backend be_a
            server a {tls['a.example'].addr}

        backend be_b
            server b {tls['b.example'].addr}

        backend be_default
            server d {default_addr or tls['default.example'].addr}
        """)


def _tls_hello_name(fe, sni, alpn=None, timeout=5):
    """Connect through sluice with TLS (no verification: we look at which
    certificate came back) and return (backend's name line, cert CN)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", fe), timeout=tmo(timeout)) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as c:
            der = c.getpeercert(binary_form=True)
            line = c.recv(64).decode().strip()
    return line, der


def _s_client_subject(fe, sni):
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{fe}", "-brief"]
    if sni:
        args += ["-servername", sni]
    else:
        args += ["-noservername"]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=tmo(20))
    return (r.stdout + r.stderr).decode(errors="replace")


def test_sni_routes_to_the_backend_with_that_certificate(sluice, servers, port, tmp_path):
    tls = _tls_backends(servers, tmp_path, ["a.example", "b.example", "default.example"])
    fe = port()
    sluice(_sni_config(fe, tls), ports=[fe])
    assert _tls_hello_name(fe, "a.example")[0] == "a.example"
    assert _tls_hello_name(fe, "A.EXAMPLE")[0] == "a.example"
    assert _tls_hello_name(fe, "www.b.example")[0] == "b.example"
    # openssl s_client sees backend A's own certificate
    out = _s_client_subject(fe, "a.example")
    assert "CN = a.example" in out or "CN=a.example" in out, out
    out = _s_client_subject(fe, "www.b.example")
    assert "CN = b.example" in out or "CN=b.example" in out, out
    # the backend saw the client's SNI: nothing was terminated on the way
    assert "a.example" in [s.lower() for s in tls["a.example"].snis if s]


def test_unknown_and_absent_sni_go_to_the_default(sluice, servers, port, tmp_path):
    tls = _tls_backends(servers, tmp_path, ["a.example", "b.example", "default.example"])
    fe = port()
    sluice(_sni_config(fe, tls), ports=[fe])
    assert _tls_hello_name(fe, "other.example")[0] == "default.example"
    assert _tls_hello_name(fe, None)[0] == "default.example"
    out = _s_client_subject(fe, None)
    assert "default.example" in out, out


def test_alpn_routing(sluice, servers, port, tmp_path):
    tls = _tls_backends(servers, tmp_path, ["a.example", "b.example", "default.example"])
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content accept if {{ req.ssl_hello_type 1 }}
            use_backend be_b if {{ req.ssl_alpn h2 }}
            default_backend be_a

        backend be_a
            server a {tls['a.example'].addr}

        backend be_b
            server b {tls['b.example'].addr}
        """)
    sluice(cfg, ports=[fe])
    assert _tls_hello_name(fe, "x.example", alpn=["h2", "http/1.1"])[0] == "b.example"
    assert _tls_hello_name(fe, "x.example", alpn=["http/1.1"])[0] == "a.example"
    assert _tls_hello_name(fe, "x.example")[0] == "a.example"


def test_map_file_routing(sluice, servers, port, tmp_path):
    tls = _tls_backends(servers, tmp_path, ["a.example", "b.example", "default.example"])
    mapfile = tmp_path / "sni.map"
    mapfile.write_text("# sni -> backend\na.example be_a\nb.example be_b\n")
    fe = port()
    cfg = config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            tcp-request inspect-delay 2s
            tcp-request content accept if {{ req.ssl_hello_type 1 }}
            use_backend %[req.ssl_sni,lower,map_dom({mapfile},be_default)]
            default_backend be_default

        backend be_a
            server a {tls['a.example'].addr}

        backend be_b
            server b {tls['b.example'].addr}

        backend be_default
            server d {tls['default.example'].addr}
        """)
    sluice(cfg, ports=[fe])
    assert _tls_hello_name(fe, "A.example")[0] == "a.example"
    assert _tls_hello_name(fe, "api.b.example")[0] == "b.example"
    assert _tls_hello_name(fe, "c.example")[0] == "default.example"


def test_garbage_http_and_slow_clients_go_to_the_default(sluice, servers, port, tmp_path):
    tls = _tls_backends(servers, tmp_path, ["a.example", "b.example"])
    plain = servers.ident("plain")
    fe = port()
    cfg = _sni_config(fe, tls, default_addr=plain.addr).replace(
        "inspect-delay 2s", "inspect-delay 500ms")
    sl = sluice(cfg, ports=[fe])
    # HTTP: not TLS, decided at once
    s = connect(fe)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert read_line(s) == "plain"
    s.close()
    # nothing sent at all: default after the inspect-delay
    t0 = time.monotonic()
    s = connect(fe)
    assert read_line(s, timeout=5) == "plain"
    assert time.monotonic() - t0 >= 0.45
    s.close()
    # a hello trickling one byte every 100 ms: the delay ends the wait
    s = connect(fe)
    s.sendall(b"\x16")
    time.sleep(0.1)
    s.sendall(b"\x03")
    assert read_line(s, timeout=5) == "plain"
    s.close()
    # a 10 KB SNI: invalid hello, default backend, no crash
    big = b"x" * 10000
    ext = b"\x00\x00" + (len(big) + 5).to_bytes(2, "big") + (len(big) + 3).to_bytes(2, "big") \
        + b"\x00" + len(big).to_bytes(2, "big") + big
    body = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" \
        + len(ext).to_bytes(2, "big") + ext
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    rec = b""
    for i in range(0, len(hs), 16000):
        frag = hs[i:i + 16000]
        rec += b"\x16\x03\x01" + len(frag).to_bytes(2, "big") + frag
    s = connect(fe)
    s.sendall(rec)
    assert read_line(s, timeout=5) == "plain"
    s.close()
    assert ask_id(fe) == "plain"
    assert sl.alive()
