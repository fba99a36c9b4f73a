#!/usr/bin/python3
"""Stick table benchmark: memory per entry, and what tracking costs.

1. Memory: one frontend tracks every source (`track-sc0 src` in a table of
   `--entries` entries storing conn_rate(10s)) and refuses the
   connection, so nothing else costs memory. Clients connect from
   `--entries` distinct loopback addresses (127.x.y.z); sluice's RSS is read
   before and after: (after - before) / entries = bytes per entry.
2. Cost: two frontends to one nginx backend, one plain, one tracking
   `src` with a `sc0_conn_rate` rule. wrk (Connection: close) runs on CPU0,
   sluice alone on CPU1 with one thread; the tracked and untracked runs
   alternate `--reps` times. Reported: connections/s and sluice CPU time per
   connection, medians. Needs wrk and nginx (as ../shared/bench does).

  admin/bench-stick.py [--bin ./sluice] [--entries 1000000] [--reps 3]
                       [--seconds 5] [--skip-memory] [--skip-rate]

Loopback only; every loop is bounded in count and time; only processes
started here are stopped, by PID.
"""
import argparse
import errno
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_listen(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start(cmd, cpu, workdir, name):
    log = open(os.path.join(workdir, name + ".log"), "w")
    return subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=log,
                            stderr=subprocess.STDOUT)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def source(i):
    """i-th client address: 127.1.0.1 upward, skipping .0 and .255."""
    a, b = divmod(i, 254)
    b1, b2 = divmod(a, 256)
    return f"127.{1 + b1}.{b2}.{b + 1}"


def flood(port, n, window=256, deadline_s=600):
    """n connections, one per source address, `window` in flight; each
    ends when the proxy closes it. Returns how many completed."""
    sel = selectors.DefaultSelector()
    done = started = 0
    deadline = time.monotonic() + deadline_s
    while done < n and time.monotonic() < deadline:
        while started < n and started - done < window:
            s = socket.socket()
            s.setblocking(False)
            s.bind((source(started), 0))
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                time.sleep(0.01)
                continue
            sel.register(s, selectors.EVENT_READ)
            started += 1
        for key, _ in sel.select(timeout=1.0):
            sel.unregister(key.fileobj)
            key.fileobj.close()
            done += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return done


def bench_memory(args, workdir):
    port = free_port()
    cfg = os.path.join(workdir, "mem.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 5000
defaults
    mode tcp
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    stick-table type ip size {args.entries} expire 1h store conn_rate(10s)
    tcp-request connection track-sc0 src
    tcp-request connection reject
""")
    proc = start([args.bin, "-db", "-f", cfg], 1, workdir, "sluice-mem")
    try:
        if not wait_listen(port):
            sys.exit("sluice did not start: see " + workdir)
        flood(port, 1000)          # warm up pools and code pages
        time.sleep(0.5)
        before = rss_bytes(proc.pid)
        t0 = time.monotonic()
        n = flood(port, args.entries)
        took = time.monotonic() - t0
        time.sleep(1.0)
        after = rss_bytes(proc.pid)
    finally:
        stop(proc)
    per = (after - before) / max(n, 1)
    print(f"memory: {n} entries (type ip, store conn_rate(10s)) in {took:.0f}s: "
          f"RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB, "
          f"{per:.1f} bytes per entry")
    return per


NGINX_CFG = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/b; proxy_temp_path {dir}/p; fastcgi_temp_path {dir}/f;
    uwsgi_temp_path {dir}/u; scgi_temp_path {dir}/s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 200 "hello\\n"; }}
    }}
}}
"""


def wrk(port, seconds):
    out = subprocess.run(["taskset", "-c", "0", "wrk", "-t1", "-c32", f"-d{seconds}s",
                          "-H", "Connection: close", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return 0.0


def bench_rate(args, workdir):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which("wrk") or not os.access(nginx, os.X_OK):
        print("rate: skipped (needs wrk and nginx)")
        return None
    be, plain, tracked = free_port(), free_port(), free_port()
    with open(os.path.join(workdir, "nginx.conf"), "w") as f:
        f.write(NGINX_CFG.format(dir=workdir, port=be))
    cfg = os.path.join(workdir, "rate.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 5000
defaults
    mode tcp
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend plain
    bind 127.0.0.1:{plain}
    default_backend be
frontend tracked
    bind 127.0.0.1:{tracked}
    stick-table type ip size 1m expire 30s store conn_cur,conn_rate(10s)
    tcp-request connection track-sc0 src
    tcp-request connection reject if {{ sc0_conn_rate gt 100000000 }}
    default_backend be
backend be
    server web 127.0.0.1:{be}
""")
    ng = start([nginx, "-p", workdir + "/", "-c", os.path.join(workdir, "nginx.conf")],
               0, workdir, "nginx")
    proc = start([args.bin, "-db", "-f", cfg], 1, workdir, "sluice-rate")
    res = {"plain": [], "tracked": []}
    try:
        if not wait_listen(be) or not wait_listen(plain):
            sys.exit("nginx or sluice did not start: see " + workdir)
        for _ in range(args.reps):
            for name, port in (("plain", plain), ("tracked", tracked)):
                t0 = cpu_ticks(proc.pid)
                rate = wrk(port, args.seconds)
                cpu = (cpu_ticks(proc.pid) - t0) / CLK
                us = cpu * 1e6 / max(rate * args.seconds, 1)
                res[name].append((rate, us))
                print(f"  {name}: {rate:.0f} conn/s, sluice {us:.1f} us CPU per connection")
    finally:
        stop(proc)
        stop(ng)
    med = {k: (statistics.median(r for r, _ in v), statistics.median(u for _, u in v))
           for k, v in res.items()}
    print(f"rate: plain {med['plain'][0]:.0f} conn/s ({med['plain'][1]:.1f} us/conn), "
          f"tracked {med['tracked'][0]:.0f} conn/s ({med['tracked'][1]:.1f} us/conn): "
          f"tracked/plain {med['tracked'][0] / med['plain'][0]:.2f}x conn/s, "
          f"{med['tracked'][1] / med['plain'][1]:.2f}x CPU per connection")
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="./sluice")
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-rate", action="store_true")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if args.entries > 254 * 256 * 100:
        sys.exit("--entries: at most 6,502,400 source addresses")
    workdir = tempfile.mkdtemp(prefix="sluice-bench-stick-")
    if not args.skip_memory:
        bench_memory(args, workdir)
    if not args.skip_rate:
        bench_rate(args, workdir)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
