"""Command line and configuration checking: -c on good and bad files
(every error names FILE:LINE), -v/-vv, several -f, "${ENV}", -D/-p."""
import os
import re
import socket
import time

import pytest

from lib.client import ask_id
from lib.config import CHECK_HEAD, config
from lib.sluice import Daemon, check_config, run_bin, listening_ports, pid_alive
from lib.env import tmo

VALID = "Configuration file is valid"


def _show(res):
    return f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"


BASE = CHECK_HEAD + """\
listen lb
    {bind}
{l}
    server s1 127.0.0.1:10002{s}
"""

# (id, where, text): where is g(lobal), d(efaults), l(isten), s(erver
# options) or bind (replaces the bind line). Each must pass -c alone.
GOOD = [
    ("global-maxconn", "g", "maxconn 100"),
    ("nbthread", "g", "nbthread 2"),
    ("log-stderr", "g", "log stderr format raw local0"),
    ("log-udp", "g", "log 127.0.0.1:514 local0"),
    ("log-udp-level", "g", "log 127.0.0.1:514 local0 info"),
    ("log-unix", "g", "log /dev/log local0"),
    ("daemon", "g", "daemon"),
    ("pidfile", "g", "pidfile /tmp/sluice-check.pid"),
    ("tune.bufsize", "g", "tune.bufsize 32768"),
    ("tune.maxaccept", "g", "tune.maxaccept 32"),
    ("nosplice", "g", "nosplice"),
    ("maxpipes", "g", "maxpipes 128"),
    ("defaults-log-global", "d", "log global"),
    ("option-tcplog", "d", "option tcplog"),
    ("option-dontlognull", "d", "option dontlognull"),
    ("option-redispatch", "d", "option redispatch"),
    ("retries", "d", "retries 2"),
    ("option-tcpka", "d", "option tcpka"),
    ("option-clitcpka", "l", "option clitcpka"),
    ("option-srvtcpka", "l", "option srvtcpka"),
    ("option-splice-auto", "l", "option splice-auto"),
    ("option-splice-request", "l", "option splice-request"),
    ("option-splice-response", "l", "option splice-response"),
    ("log-format", "l", 'log-format "%ci:%cp [%t] %ft %b/%s %ts"'),
    ("maxconn", "l", "maxconn 100"),
    ("timeout-queue", "l", "timeout queue 10s"),
    ("timeout-tunnel", "l", "timeout tunnel 1h"),
    ("timeout-client-fin", "l", "timeout client-fin 1s"),
    ("timeout-server-fin", "l", "timeout server-fin 1s"),
    ("timeout-ms-default-unit", "l", "timeout server 30000"),
    ("timeout-units", "l", "timeout connect 1500ms"),
    ("default-server", "l", "default-server weight 10 maxconn 100"),
    ("balance-roundrobin", "l", "balance roundrobin"),
    ("balance-static-rr", "l", "balance static-rr"),
    ("balance-leastconn", "l", "balance leastconn"),
    ("balance-first", "l", "balance first"),
    ("balance-source", "l", "balance source"),
    ("balance-random", "l", "balance random"),
    ("balance-random-n", "l", "balance random(3)"),
    ("balance-hash-src", "l", "balance hash src"),
    ("hash-type-map-based", "l", "hash-type map-based"),
    ("hash-type-consistent", "l", "hash-type consistent"),
    ("hash-balance-factor", "l", "balance hash src\n    hash-type consistent\n"
     "    hash-balance-factor 150"),
    ("server-weight", "s", " weight 5"),
    ("server-maxconn", "s", " maxconn 10"),
    ("server-maxqueue", "s", " maxconn 10 maxqueue 5"),
    ("server-disabled", "s", " disabled"),
    ("server-id", "s", " id 7"),
    ("bind-two-addrs", "bind", "bind 127.0.0.1:10000,127.0.0.1:10001"),
    ("bind-backlog", "bind", "bind 127.0.0.1:10000 backlog 128"),
    ("bind-maxconn", "bind", "bind 127.0.0.1:10000 maxconn 10"),
    ("bind-defer-accept", "bind", "bind 127.0.0.1:10000 defer-accept"),
    ("bind-tfo", "bind", "bind 127.0.0.1:10000 tfo"),
    ("bind-interface", "bind", "bind 127.0.0.1:10000 interface lo"),
    ("bind-ipv6", "bind", "bind ::1:10000"),
    ("bind-ipv6-brackets", "bind", "bind [::1]:10000"),
    ("bind-v4v6", "bind", "bind :::10000 v4v6"),
    ("bind-v6only", "bind", "bind :::10000 v6only"),
    ("bind-any", "bind", "bind *:10000"),
    ("bind-port-only", "bind", "bind :10000"),
]


def _good_cfg(where, text):
    parts = {"g": "", "d": "", "l": "", "s": "",
             "bind": "bind 127.0.0.1:10000"}
    if where == "s" or where == "bind":
        parts[where] = text
    else:
        parts[where] = "\n".join("    " + ln.strip()
                                 for ln in text.splitlines())
    return BASE.format(**parts)


@pytest.mark.parametrize("where,text", [(w, t) for _, w, t in GOOD],
                         ids=[i for i, _, _ in GOOD])
def test_check_accepts_keyword(tmp_path, where, text):
    _, res = check_config(tmp_path, _good_cfg(where, text))
    assert res.returncode == 0, _show(res)
    assert VALID in res.stdout + res.stderr, _show(res)


def test_check_good_full_file(tmp_path):
    """frontend + backend + listen + named defaults + quoting, comments."""
    text = """\
# a comment line
global
    maxconn 1000          # trailing comment
    log stdout format raw local0

defaults base
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend "fe-main"
    bind "127.0.0.1:10010"
    default_backend app

backend app from base
    balance leastconn
    server app1 "127.0.0.1:10011" weight 2
    server 'app2' 127.0.0.1:10012

listen direct
    bind 127.0.0.1:10013
    log-format "%ci:%cp %ts"
    server d1 127.0.0.1:10014

listen escaped
    bind 127.0.0.1:10015
    log-format %ci:%cp\\ %ts
    server e1 127.0.0.1:10016
"""
    _, res = check_config(tmp_path, text)
    assert res.returncode == 0, _show(res)
    assert VALID in res.stdout + res.stderr, _show(res)


def test_check_does_not_bind(tmp_path, port):
    """-c on a file whose port is busy still succeeds: it starts nothing."""
    p = port()
    busy = socket.socket()
    busy.bind(("127.0.0.1", p))
    busy.listen(1)
    try:
        _, res = check_config(tmp_path, _good_cfg("bind", f"bind 127.0.0.1:{p}"))
    finally:
        busy.close()
    assert res.returncode == 0, _show(res)


def test_check_env_expansion(tmp_path):
    text = _good_cfg("bind", 'bind "127.0.0.1:${SLUICE_T_PORT}"')
    _, res = check_config(tmp_path, text, env={"SLUICE_T_PORT": "10020"})
    assert res.returncode == 0, _show(res)


# (id, text, substring of the bad line, word the message must contain)
BAD = [
    ("unknown-keyword", "listen lb\n    bind 127.0.0.1:10000\n"
     "    frobnicate on\n    server s1 127.0.0.1:10001\n",
     "frobnicate", "frobnicate"),
    ("unknown-global-keyword", "global\n    tune.frobnicate 3\n",
     "tune.frobnicate", "tune.frobnicate"),
    ("missing-backend", "frontend fe\n    bind 127.0.0.1:10000\n"
     "    default_backend nosuch\n", "default_backend", "nosuch"),
    ("bad-timeout", "listen lb\n    bind 127.0.0.1:10000\n"
     "    timeout client abc\n    server s1 127.0.0.1:10001\n",
     "timeout client abc", "timeout"),
    ("mode-http", "backend be\n    mode http\n"
     "    server s1 127.0.0.1:10001\n", "mode http", "http"),
    ("duplicate-server", "backend be\n    server s1 127.0.0.1:10001\n"
     "    server s2 127.0.0.1:10002\n    server s1 127.0.0.1:10003\n",
     "10003", "s1"),
    ("unknown-balance", "backend be\n    balance nosuch\n"
     "    server s1 127.0.0.1:10001\n", "balance", "nosuch"),
    ("bad-server-port", "backend be\n    server s1 127.0.0.1:99999\n",
     "99999", "s1"),
    ("bad-bind-port", "frontend fe\n    bind 127.0.0.1:notaport\n"
     "    default_backend be\nbackend be\n    server s1 127.0.0.1:10001\n",
     "notaport", "bind"),
    ("weight-out-of-range", "backend be\n"
     "    server s1 127.0.0.1:10001 weight 300\n", "weight 300", "weight"),
    ("unsupported-http-keyword", "frontend fe\n    bind 127.0.0.1:10000\n"
     "    http-request deny\n    default_backend be\n"
     "backend be\n    server s1 127.0.0.1:10001\n", "http-request",
     "http-request"),
    ("unknown-server-option", "backend be\n"
     "    server s1 127.0.0.1:10001 frobnicate\n", "frobnicate",
     "frobnicate"),
    ("unterminated-quote", 'backend be\n    server s1 "127.0.0.1:10001\n',
     "server s1", None),
    ("keyword-outside-section", "    bind 127.0.0.1:10000\n"
     "frontend fe\n", "bind", "bind"),
]

HEAD = ("global\n    maxconn 100\ndefaults\n    mode tcp\n"
        "    timeout connect 5s\n    timeout client 5s\n"
        "    timeout server 5s\n")


def _line_of(text, needle):
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise ValueError(needle)


def _assert_located(res, path, line, word):
    assert res.returncode == 1, _show(res)
    assert re.search(re.escape(f"{path}:{line}") + r"(?!\d)", res.stderr), \
        f"stderr must name {path}:{line}\n" + _show(res)
    if word:
        assert word in res.stderr, f"message must mention {word!r}\n" + \
            _show(res)
    assert VALID not in res.stdout + res.stderr


@pytest.mark.parametrize("text,needle,word", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_check_rejects(tmp_path, text, needle, word):
    # a keyword outside any section must come before "global"
    full = text + HEAD if text.startswith("    ") else HEAD + text
    path, res = check_config(tmp_path, full)
    _assert_located(res, path, _line_of(full, needle), word)


def test_check_names_second_file(tmp_path):
    """With two -f, an error in the second names the second file."""
    a = tmp_path / "a.cfg"
    b = tmp_path / "b.cfg"
    a.write_text(HEAD + "listen lb\n    bind 127.0.0.1:10000\n"
                 "    server s1 127.0.0.1:10001\n")
    b.write_text("backend other\n    server s1 127.0.0.1:10002\n"
                 "    frobnicate\n")
    res = run_bin(["-c", "-f", str(a), "-f", str(b)])
    _assert_located(res, b, 3, "frobnicate")


def test_two_config_files_run(sluice, servers, port, tmp_path):
    """A frontend in one file uses a backend defined in the next one."""
    s1 = servers.ident("s1")
    fe = port()
    second = tmp_path / "second.cfg"
    second.write_text(f"backend be\n    server s1 {s1.addr}\n")
    sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be
        """), ports=[fe], args=["-f", str(second)])
    assert ask_id(fe) == "s1"


def test_env_expansion_runs(sluice, servers, port):
    s1 = servers.ident("s1")
    fe = port()
    sluice(config("""
        listen lb
            bind "127.0.0.1:${T_FE_PORT}"
            server s1 "${T_SRV_ADDR}"
        """), ports=[fe], env={"T_FE_PORT": str(fe), "T_SRV_ADDR": s1.addr})
    assert ask_id(fe) == "s1"


VERSION_RE = re.compile(r"\b\d+\.\d+(\.\d+)?")


def test_version():
    res = run_bin(["-v"])
    out = res.stdout + res.stderr
    assert res.returncode == 0, _show(res)
    assert "sluice" in out.lower() and VERSION_RE.search(out), _show(res)


def test_version_build_options():
    v = run_bin(["-v"])
    vv = run_bin(["-vv"])
    assert vv.returncode == 0, _show(vv)
    out = vv.stdout + vv.stderr
    version = VERSION_RE.search(v.stdout + v.stderr).group(0)
    assert version in out, _show(vv)
    assert len(out.splitlines()) > len((v.stdout + v.stderr).splitlines())
    assert "build" in out.lower(), _show(vv)


@pytest.mark.parametrize("how", ["cmdline", "config"])
def test_daemon_with_pidfile(tmp_path, servers, port, how):
    """-D -p FILE (or "daemon" + "pidfile" in global): the launcher exits
    0, the daemon's PID is in the file, it serves, and SIGTERM stops it."""
    s1 = servers.ident("s1")
    fe = port()
    pidfile = tmp_path / "sluice.pid"
    glob = f"daemon\npidfile {pidfile}" if how == "config" else ""
    args = [] if how == "config" else ["-D", "-p", str(pidfile)]
    d = Daemon(config(f"""
        listen lb
            bind 127.0.0.1:{fe}
            server s1 {s1.addr}
        """, log=False, global_extra=glob), tmp_path, args)
    try:
        res = d.launch()
        assert res.returncode == 0, _show(res)
        deadline = time.monotonic() + tmo(5)
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline, "no pidfile written"
            time.sleep(0.02)
        d.pid = int(pidfile.read_text().split()[0])
        assert d.pid != os.getpid() and pid_alive(d.pid), "daemon not running"
        while fe not in listening_ports(d.pid):
            assert time.monotonic() < deadline + tmo(5), "daemon not listening"
            time.sleep(0.02)
        assert ask_id(fe) == "s1"
        assert d.stop(), "daemon still running 5s after SIGTERM"
    finally:
        d.stop()
