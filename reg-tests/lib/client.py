"""Client side of the tests: connect through sluice and look at what
comes back. Every call is bounded in time."""
import hashlib
import select
import socket
import threading
import time

from .env import tmo


def connect(port, host="127.0.0.1", src=None, timeout=5.0):
    """A connected blocking socket; src binds the client address first
    (any 127.0.0.0/8 address works as a distinct client on Linux)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        if src:
            s.bind((src, 0))
        s.settimeout(tmo(timeout))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def read_line(s, timeout=5.0):
    """One line (without "\\n"); raises TimeoutError, or EOFError if the
    connection closes before the line is complete."""
    buf = b""
    deadline = time.monotonic() + tmo(timeout)
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete line after {timeout}s: {buf!r}")
        s.settimeout(left)
        data = s.recv(1)
        if not data:
            raise EOFError(f"connection closed, got {buf!r}")
        buf += data
    return buf[:-1].decode()


def read_exact(s, n, timeout=5.0):
    buf = b""
    deadline = time.monotonic() + tmo(timeout)
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"got {len(buf)} of {n} bytes: {buf[:64]!r}")
        s.settimeout(left)
        data = s.recv(n - len(buf))
        if not data:
            raise EOFError(f"connection closed after {len(buf)} of {n} "
                           f"bytes: {buf[:64]!r}")
        buf += data
    return buf


def read_to_eof(s, timeout=5.0):
    """Everything until the peer's FIN; raises TimeoutError."""
    chunks = []
    deadline = time.monotonic() + tmo(timeout)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no EOF in time")
        s.settimeout(left)
        data = s.recv(262144)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def close_gracefully(s, timeout=5.0):
    """Half-close, drain to EOF, close: the session ends normally ("--")."""
    try:
        s.shutdown(socket.SHUT_WR)
        read_to_eof(s, timeout)
    except OSError:
        pass
    finally:
        s.close()


def ask_id(port, host="127.0.0.1", src=None, timeout=5.0):
    """Connect, read the IdServer's name line, close cleanly; the name."""
    s = connect(port, host, src, timeout)
    try:
        name = read_line(s, timeout)
    except BaseException:
        s.close()
        raise
    close_gracefully(s, timeout)
    return name


def hold_id(port, host="127.0.0.1", src=None, timeout=5.0):
    """Connect and read the name line, keep the socket: (name, sock)."""
    s = connect(port, host, src, timeout)
    try:
        return read_line(s, timeout), s
    except BaseException:
        s.close()
        raise


def silent_for(s, seconds):
    """True if nothing arrives (no data, no FIN, no RST) for that long."""
    r, _, _ = select.select([s], [], [], seconds)
    return not r


def wait_closed(s, timeout):
    """Wait for the peer to close: ("eof"|"reset"|"open", elapsed, data),
    data being whatever arrived before the close."""
    start = time.monotonic()
    deadline = start + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "open", time.monotonic() - start, data
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return "reset", time.monotonic() - start, data
        if not chunk:
            return "eof", time.monotonic() - start, data
        data += chunk


def payload(size, seed):
    """size deterministic pseudo-random bytes (no repeating blocks, so a
    reordering shows up in the hash)."""
    import random
    return random.Random(seed).randbytes(size)


def send_all_then_shut(s, data, chunk=1 << 18):
    view = memoryview(data)
    for off in range(0, len(data), chunk):
        s.sendall(view[off:off + chunk])
    s.shutdown(socket.SHUT_WR)


def duplex_transfer(port, data, timeout=60.0):
    """Send data and read the echo at the same time; (sha256, length) of
    what came back. Any error in the sender thread is re-raised."""
    s = connect(port, timeout=timeout)
    err = []

    def sender():
        try:
            send_all_then_shut(s, data)
        except BaseException as e:  # reported by the caller
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    h = hashlib.sha256()
    n = 0
    deadline = time.monotonic() + tmo(timeout)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"echo stalled after {n} bytes")
            s.settimeout(left)
            chunk = s.recv(262144)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
    finally:
        t.join(tmo(timeout))
        s.close()
    if err:
        raise err[0]
    return h.hexdigest(), n
