"""Free TCP ports on loopback.

Ports are taken below the kernel's ephemeral range, so that no outgoing
connection (ours or sluice's) can be holding one as its source port when a
test binds it, and never handed out twice in one run.
"""
import random
import socket
import threading

_used = set()
_lock = threading.Lock()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port, family, host):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(family=socket.AF_INET):
    """A port that nothing listens on, on 127.0.0.1 (and ::1 if IPv6)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    high = min(_ephemeral_low(), 65536) - 1
    low = 10000 if high > 12000 else 1025
    rnd = random.Random()
    with _lock:
        for _ in range(2000):
            port = rnd.randint(low, high)
            if port in _used:
                continue
            if _bindable(port, family, host) and \
                    (family == socket.AF_INET6 or
                     _bindable(port, socket.AF_INET, "127.0.0.1")):
                _used.add(port)
                return port
    raise RuntimeError("no free loopback port found")


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()
