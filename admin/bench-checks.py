#!/usr/bin/python3
"""CPU cost of health checks: N servers checked every `inter`.

The servers are N loopback addresses (127.1.x.y) sharing one port, each a
listening socket of one accept-and-close process pinned to CPU0; sluice runs
one thread pinned to CPU1. After a warm-up, we read sluice's CPU time and
RSS over a measurement window and count the checks the backend saw.

  admin/bench-checks.py [--bin ./sluice] [--servers 5000] [--inter 1s]
                        [--seconds 30]

Loopback only; every loop is bounded in time; only the processes started
here are stopped, by PID.
"""
import argparse
import mmap
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")


def addr(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


def backend(n, port, seconds, ready_w, shared):
    """Child process: accept and close on n listening sockets."""
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr(i), port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    os.write(ready_w, b"r")
    accepted = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(0.2):
            for _ in range(64):
                try:
                    c, _ = key.fileobj.accept()
                except (BlockingIOError, OSError):
                    break
                c.close()
                accepted += 1
        struct.pack_into("Q", shared, 0, accepted)
    os._exit(0)


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "sluice"))
    ap.add_argument("--servers", type=int, default=5000)
    ap.add_argument("--inter", default="1s")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()

    port = free_port()
    total = a.warmup + a.seconds + 15
    ready_r, ready_w = os.pipe()
    shared = mmap.mmap(-1, 8)
    bpid = os.fork()
    if bpid == 0:
        os.sched_setaffinity(0, {0})
        backend(a.servers, port, total, ready_w, shared)
    os.read(ready_r, 1)

    fe = free_port()
    lines = ["global", "    nbthread 1", "    log stdout format raw local0",
             "defaults", "    mode tcp", "    timeout connect 2s",
             "    timeout client 10s", "    timeout server 10s", "    log global",
             "frontend fe", f"    bind 127.0.0.1:{fe}", "    default_backend be",
             "backend be", f"    default-server check inter {a.inter} fall 3 rise 2"]
    lines += [f"    server s{i} {addr(i)}:{port}" for i in range(a.servers)]
    tmp = tempfile.mkdtemp(prefix="sluice-bench-checks-")
    cfg = os.path.join(tmp, "checks.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = open(os.path.join(tmp, "out.log"), "wb")
    sp = subprocess.Popen(["taskset", "-c", "1", a.bin, "-db", "-f", cfg],
                          stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        time.sleep(a.warmup)
        if sp.poll() is not None:
            sys.exit(f"sluice exited: see {tmp}/out.log")
        c0, t0 = proc_cpu(sp.pid), time.monotonic()
        n0 = struct.unpack_from("Q", shared, 0)[0]
        time.sleep(a.seconds)
        c1, t1 = proc_cpu(sp.pid), time.monotonic()
        n1 = struct.unpack_from("Q", shared, 0)[0]
        rss = proc_rss_kib(sp.pid)
    finally:
        sp.send_signal(signal.SIGTERM)
        try:
            sp.wait(10)
        except subprocess.TimeoutExpired:
            sp.kill()
            sp.wait()
        os.kill(bpid, signal.SIGTERM)
        os.waitpid(bpid, 0)
    out.close()
    with open(os.path.join(tmp, "out.log"), errors="replace") as f:
        log = f.read()
    downs = log.count(" is DOWN")
    cpu = 100.0 * (c1 - c0) / (t1 - t0)
    print(f"servers={a.servers} inter={a.inter} window={t1 - t0:.1f}s")
    print(f"checks/s seen by the servers: {(n1 - n0) / (t1 - t0):.0f}")
    print(f"sluice CPU: {cpu:.1f}% of one core; RSS {rss / 1024:.1f} MiB")
    print(f"DOWN transitions logged: {downs} (want 0)")
    print(f"log: {tmp}/out.log")


if __name__ == "__main__":
    main()
