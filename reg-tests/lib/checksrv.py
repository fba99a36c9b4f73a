"""Backends for health-check tests: servers that can stop and come back on
the same port, answer check scripts, speak a little MySQL/PostgreSQL/TLS,
or play a load-feedback agent. All loopback, all bounded in time.
"""
import os
import socket
import ssl
import subprocess
import time

from .env import tmo
from .servers import IdServer, Server, CONN_TIMEOUT


class Restartable:
    """An IdServer that can stop listening (connections are refused, like a
    dead process) and listen again on the same port. Connections already
    open survive a stop unless kill_open=True."""

    def __init__(self, name, host="127.0.0.1"):
        self.name = name
        self.host = host
        self.inner = IdServer(name, host=host)
        self.port = self.inner.port
        self.old = []

    @property
    def addr(self):
        return self.inner.addr

    @property
    def accepted(self):
        return self.inner.accepted + sum(o.accepted for o in self.old)

    def down(self, kill_open=False):
        """Stop listening; open connections stay unless kill_open."""
        inner = self.inner
        inner.stopping.set()
        inner.thread.join(5)
        inner.sock.close()
        if kill_open:
            inner.stop()
        self.old.append(inner)
        self.inner = None

    def up(self, timeout=5.0):
        deadline = time.monotonic() + tmo(timeout)
        while True:
            try:
                self.inner = IdServer(self.name, host=self.host, port=self.port)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.inner:
            self.inner.stop()
        for o in self.old:
            o.stop()


class ReplyServer(Server):
    """Sends `greeting` on connect (if any), reads what the check sends
    (until `expect_len` bytes, a newline, or 0.3 s of silence; with
    expect_len=-1, whatever the first read returns), answers
    `reply`, then keeps the connection open until the peer closes it or
    `close_after` is set. `reply` and `greeting` may be changed at any
    time; `requests` records what each connection sent."""

    def __init__(self, reply=b"", greeting=b"", expect_len=None,
                 close_after=True, until=None, **kw):
        self.until = until  # bytes: read until the request ends with them
        self.reply = reply
        self.greeting = greeting
        self.expect_len = expect_len
        self.close_after = close_after
        self.requests = []
        super().__init__(**kw)

    def _read_request(self, conn):
        buf = b""
        conn.settimeout(0.3)
        while True:
            if self.until is not None:
                if buf.endswith(self.until):
                    break
            elif self.expect_len == -1 and buf:
                break
            if self.expect_len is not None and self.expect_len >= 0 and \
                    len(buf) >= self.expect_len:
                break
            if self.expect_len is None and b"\n" in buf:
                break
            try:
                data = conn.recv(4096)
            except socket.timeout:
                break
            if not data:
                break
            buf += data
        return buf

    def handle(self, conn):
        if self.greeting:
            conn.sendall(self.greeting)
        req = self._read_request(conn)
        self.requests.append(req)
        if self.reply:
            conn.sendall(self.reply)
        if not self.close_after:
            conn.settimeout(CONN_TIMEOUT)
            while conn.recv(4096):
                pass


class AgentServer(ReplyServer):
    """A load-feedback agent: answers one line and closes."""

    def __init__(self, reply=b"up\n", **kw):
        super().__init__(reply=reply, expect_len=0, **kw)

    def _read_request(self, conn):
        # agent-send, if configured, arrives right away; do not wait for it
        conn.settimeout(0.05)
        try:
            return conn.recv(4096)
        except (socket.timeout, OSError):
            return b""


def make_cert(workdir, cn):
    """Self-signed certificate for cn; returns (certfile, keyfile)."""
    cert = os.path.join(workdir, f"{cn}.crt")
    key = os.path.join(workdir, f"{cn}.key")
    if not os.path.exists(cert):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
             "-addext", f"subjectAltName=DNS:{cn}"],
            check=True, capture_output=True, timeout=60)
    return cert, key


class TlsIdServer(Server):
    """TLS server: completes the handshake, says NAME, echoes. Records the
    SNI each client asked for in .snis and how many handshakes completed."""

    def __init__(self, name, certfile, keyfile, **kw):
        self.name = name
        self.snis = []
        self.handshakes = 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.ctx.sni_callback = self._sni
        super().__init__(**kw)

    def _sni(self, sslobj, name, ctx):
        self.snis.append(name)

    def handle(self, conn):
        conn.settimeout(5)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.handshakes += 1
        try:
            tls.sendall(self.name.encode() + b"\n")
            while tls.recv(4096):
                pass
        except (ssl.SSLError, OSError):
            pass


class SilentServer(Server):
    """Accepts and never answers (a half-open TLS peer, a hung process)."""

    def handle(self, conn):
        conn.settimeout(CONN_TIMEOUT)
        while not self.stopping.is_set():
            try:
                if not conn.recv(4096):
                    return
            except socket.timeout:
                return


def wait_for(pred, timeout, step=0.02):
    """Poll pred() until true or timeout; returns the last value."""
    deadline = time.monotonic() + tmo(timeout)
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def wait_log(sl, text, timeout=5.0, start=0):
    """Index of the first log line (from `start`) containing text, or -1."""
    def find():
        for i, ln in enumerate(sl.log_lines()[start:]):
            if text in ln:
                return start + i + 1
        return 0
    r = wait_for(find, timeout)
    return r - 1 if r else -1


def log_line(sl, text):
    for ln in sl.log_lines():
        if text in ln:
            return ln
    return None


class Stopwatch:
    def __init__(self):
        self.t0 = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.t0

