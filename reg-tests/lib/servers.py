"""Small test backends, each in its own thread(s), all bounded in time.

Every server listens on loopback (127.0.0.1 or ::1) on a port of its own and
counts what it sees, so tests can check which server got a connection and
how many it had at once. stop() closes everything and joins the threads;
the fixtures call it at teardown.
"""
import hashlib
import selectors
import socket
import threading
import time

from .env import tmo

CONN_TIMEOUT = 60.0  # no handler thread lives longer than this idle


class Server:
    """Accept loop in a thread; one handler thread per connection."""

    def __init__(self, host="127.0.0.1", port=0, backlog=512):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0  # connections accepted so far
        self.active = 0  # connections open now
        self.peak = 0  # highest number open at once
        self.conns = set()
        self.handlers = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        """host:port as a sluice "server" line wants it."""
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def _accept_loop(self):
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, BlockingIOError, InterruptedError):
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                time.sleep(0.01)  # EMFILE in the test process: retry
                continue
            self._track(conn)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self.handlers.append(t)
            t.start()

    def _track(self, conn):
        with self.lock:
            self.accepted += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.conns.add(conn)

    def _untrack(self, conn):
        with self.lock:
            self.active -= 1
            self.conns.discard(conn)

    def _run(self, conn):
        conn.settimeout(CONN_TIMEOUT)
        try:
            self.handle(conn)
        except OSError:
            pass
        finally:
            self._untrack(conn)
            conn.close()

    def handle(self, conn):
        raise NotImplementedError

    def wait_accepted(self, n, timeout=5.0):
        """True once at least n connections were accepted."""
        deadline = time.monotonic() + tmo(timeout)
        while time.monotonic() < deadline:
            if self.accepted >= n:
                return True
            time.sleep(0.01)
        return self.accepted >= n

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.handlers:
            t.join(2)


def _echo_until_eof(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


class IdServer(Server):
    """Says "NAME\\n" on every connection, then echoes until EOF."""

    def __init__(self, name, **kw):
        self.name = name
        super().__init__(**kw)

    def handle(self, conn):
        conn.sendall(self.name.encode() + b"\n")
        _echo_until_eof(conn)


class BannerServer(Server):
    """Speaks first, like an SSH server: a banner, then echo."""

    def __init__(self, banner=b"SSH-2.0-test\r\n", **kw):
        self.banner = banner
        super().__init__(**kw)

    def handle(self, conn):
        conn.sendall(self.banner)
        _echo_until_eof(conn)


class HoldServer(Server):
    """Accepts and never says anything; reads and counts until EOF.
    With close_on_eof=False it keeps the socket open after EOF too."""

    def __init__(self, close_on_eof=True, **kw):
        self.close_on_eof = close_on_eof
        self.received = 0
        super().__init__(**kw)

    def handle(self, conn):
        while True:
            data = conn.recv(65536)
            if not data:
                break
            self.received += len(data)
        if not self.close_on_eof:
            self.stopping.wait(CONN_TIMEOUT)


class SinkHashServer(Server):
    """Reads everything until EOF, then answers the sha256 hex digest and
    the byte count ("HEX LEN\\n") and closes: proves the client's FIN
    arrived and that the reverse direction still works after it."""

    def __init__(self, **kw):
        self.results = []
        super().__init__(**kw)

    def handle(self, conn):
        h = hashlib.sha256()
        n = 0
        while True:
            data = conn.recv(262144)
            if not data:
                break
            h.update(data)
            n += len(data)
        self.results.append((h.hexdigest(), n))
        conn.sendall(f"{h.hexdigest()} {n}\n".encode())


class SourceServer(Server):
    """Sends a fixed payload, half-closes, waits for the client's EOF."""

    def __init__(self, payload, **kw):
        self.payload = payload
        super().__init__(**kw)

    def handle(self, conn):
        conn.sendall(self.payload)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass


class HalfCloseServer(Server):
    """Sends a banner and half-closes at once, then keeps reading: whatever
    the client sends after seeing our FIN is recorded in .received."""

    def __init__(self, banner=b"bye\n", **kw):
        self.banner = banner
        self.received = []
        self.got_eof = threading.Event()
        super().__init__(**kw)

    def handle(self, conn):
        conn.sendall(self.banner)
        conn.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
        self.received.append(buf)
        self.got_eof.set()


class EchoServer:
    """Echo server on one selector thread: cheap with thousands of
    connections and fast with big transfers. On EOF it flushes what it owes
    and closes."""

    HIGH_WATER = 1 << 20

    def __init__(self, host="127.0.0.1", port=0, backlog=4096):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.active = 0
        self.peak = 0
        self.stopping = threading.Event()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    addr = Server.addr

    def _loop(self):
        while not self.stopping.is_set():
            for key, events in self.sel.select(0.05):
                if key.data is None:
                    self._accept()
                else:
                    self._service(key.fileobj, key.data, events)
        for key in list(self.sel.get_map().values()):
            if key.data is not None:
                key.fileobj.close()
        self.sel.close()

    def _accept(self):
        for _ in range(256):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # EMFILE: the listen socket stays readable
            conn.setblocking(False)
            self.accepted += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            state = {"out": bytearray(), "eof": False}
            self.sel.register(conn, selectors.EVENT_READ, state)

    def _close(self, conn):
        self.sel.unregister(conn)
        conn.close()
        self.active -= 1

    def _service(self, conn, st, events):
        try:
            if events & selectors.EVENT_READ:
                data = conn.recv(262144)
                if data:
                    st["out"] += data
                else:
                    st["eof"] = True
            if st["out"]:
                n = conn.send(st["out"])
                del st["out"][:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(conn)
            return
        if st["eof"] and not st["out"]:
            self._close(conn)
            return
        mask = 0
        if not st["eof"] and len(st["out"]) < self.HIGH_WATER:
            mask |= selectors.EVENT_READ
        if st["out"]:
            mask |= selectors.EVENT_WRITE
        self.sel.modify(conn, mask, st)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


class BlackHole:
    """An address whose SYNs are silently dropped, as if a firewall ate
    them: a listener with backlog 0 that never accepts, whose accept queue
    is already full (Linux then drops new SYNs instead of answering).
    Raises RuntimeError if this kernel answers anyway."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        self.fillers = []
        for _ in range(2):
            self.fillers.append(self._connect_nb(host))
        time.sleep(0.05)
        if self._completes(host):
            self.stop()
            raise RuntimeError("the kernel completes handshakes to a full "
                               "backlog-0 listener: cannot black-hole")

    def _connect_nb(self, host):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, self.port))
        return s

    def _completes(self, host):
        s = self._connect_nb(host)
        self.fillers.append(s)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_WRITE)
        ready = sel.select(0.3)
        sel.close()
        if not ready:
            return False
        return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0

    def stop(self):
        for s in self.fillers:
            s.close()
        self.sock.close()
