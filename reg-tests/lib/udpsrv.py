"""UDP backends and clients for the mode udp tests. Every wait is bounded."""
import socket
import threading
import time

from .env import tmo


class UdpServer:
    """A UDP socket served by a thread: answer(data, peer) returns the reply
    (bytes) or None for no reply. Records (data, peer) of every datagram."""

    def __init__(self, host="127.0.0.1", port=0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.peers = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def answer(self, data, peer):
        return data

    def _loop(self):
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(70000)
            except (socket.timeout, BlockingIOError, InterruptedError):
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                continue
            with self.lock:
                self.received.append((data, peer))
                self.peers.add(peer)
            reply = self.answer(data, peer)
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


class UdpIdServer(UdpServer):
    """Replies NAME + b":" + the datagram."""

    def __init__(self, name, **kw):
        self.name = name
        super().__init__(**kw)

    def answer(self, data, peer):
        return self.name.encode() + b":" + data


class UdpSilentServer(UdpServer):
    def answer(self, data, peer):
        return None


class UdpRestartable:
    """A UdpIdServer that can go away (its port then answers with ICMP port
    unreachable) and come back on the same port."""

    def __init__(self, name, host="127.0.0.1"):
        self.name, self.host = name, host
        self.inner = UdpIdServer(name, host=host)
        self.port = self.inner.port
        self.addr = self.inner.addr

    def down(self):
        self.inner.stop()
        self.inner = None

    def up(self):
        self.inner = UdpIdServer(self.name, host=self.host, port=self.port)

    def stop(self):
        if self.inner:
            self.inner.stop()


def client(host="127.0.0.1", src=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if src:
        s.bind((src, 0))
    return s


def ask(sock, port, data, host="127.0.0.1", timeout=2.0):
    """Send data to host:port, return (reply, sender) or (None, None)."""
    sock.sendto(data, (host, port))
    sock.settimeout(tmo(timeout))
    try:
        return sock.recvfrom(70000)
    except (socket.timeout, ConnectionRefusedError):
        return None, None


def ask_name(sock, port, data=b"hi", host="127.0.0.1", timeout=2.0):
    """The NAME part of a UdpIdServer's reply, or None."""
    reply, _ = ask(sock, port, data, host, timeout)
    if reply is None:
        return None
    name, _, echoed = reply.partition(b":")
    assert echoed == data, (reply[:40], data[:40])
    return name.decode()


def wait_until(pred, timeout, step=0.02):
    deadline = time.monotonic() + tmo(timeout)
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)
