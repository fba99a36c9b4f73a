#!/usr/bin/python3
"""Helpers for admin/demo.sh (Python 3 stdlib only).

  demo_backend.py serve NAME PORT      a tiny backend on 127.0.0.1:PORT: says
                                       "hello from NAME", then echoes
  demo_backend.py ask PORT             connect to 127.0.0.1:PORT, print the
                                       first line received
  demo_backend.py free-port PREF [NOT...]
                                       PREF if it is free, else a free port
                                       (never one of NOT)
  demo_backend.py wait-listen PID PORT wait (10 s max) until process PID
                                       listens on PORT; never connects, so
                                       it does not count as a client
"""
import os
import signal
import socket
import sys
import threading
import time


def serve(name, port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    hello = f"hello from {name} (127.0.0.1:{port})\n".encode()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=talk, args=(conn, hello), daemon=True).start()


def talk(conn, hello):
    conn.settimeout(30)
    try:
        conn.sendall(hello)
        while True:
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def ask(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            line = s.makefile("rb").readline().decode().strip()
    except OSError as e:
        print(f"no answer ({e.strerror or e})")
        return 1
    print(line or "connection closed without an answer")
    return 0 if line else 1


def bindable(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(pref, avoid):
    if pref not in avoid and bindable(pref):
        return pref
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in avoid:
            return port


def listening(pid, port):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open(f"/proc/{pid}/net/tcp") as f:
            rows = [ln.split() for ln in f.readlines()[1:]]
    except OSError:
        return False
    return any(r[3] == "0A" and r[9] in inodes and
               int(r[1].rsplit(":", 1)[1], 16) == port for r in rows)


def wait_listen(pid, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(pid, port):
            return 0
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.05)
    print(f"process {pid} is not listening on port {port}", file=sys.stderr)
    return 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "serve":
        serve(argv[1], int(argv[2]))
    elif len(argv) == 2 and argv[0] == "ask":
        return ask(int(argv[1]))
    elif len(argv) >= 2 and argv[0] == "free-port":
        print(free_port(int(argv[1]), {int(a) for a in argv[2:]}))
        return 0
    elif len(argv) == 3 and argv[0] == "wait-listen":
        return wait_listen(int(argv[1]), int(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
