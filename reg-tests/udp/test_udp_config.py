"""`sluice -c` on mode udp configurations."""
import re

import pytest

from lib.config import CHECK_HEAD
from lib.sluice import check_config

GOOD = [
    ("bench-style", "frontend fe\n    mode udp\n    bind 127.0.0.1:10001\n    default_backend be\n"
        "backend be\n    mode udp\n    server s1 127.0.0.1:10002\n"),
    ("listen", "listen dns\n    mode udp\n    bind 127.0.0.1:10053\n    balance source\n"
        "    server a 127.0.0.1:10054 check\n    server b 127.0.0.1:10055 check backup\n"),
    ("defaults-udp", "defaults\n    mode udp\n    timeout client 30s\n"
        "frontend fe\n    bind :10001\n    bind [::1]:10001\n    default_backend be\n"
        "backend be\n    balance leastconn\n    udp-check send-binary 0001 expect-binary 0002\n"
        "    server s1 127.0.0.1:10002 check inter 1s send-proxy-v2\n"),
    ("stick", "listen l\n    mode udp\n    bind 127.0.0.1:10001\n    stick-table type ip size 1k\n"
        "    stick on src\n    server s1 127.0.0.1:10002\n"),
]


@pytest.mark.parametrize("name,body", GOOD, ids=[g[0] for g in GOOD])
def test_good_udp_configs(tmp_path, name, body):
    text = CHECK_HEAD.format(g="", d="") + body
    _, res = check_config(tmp_path, text)
    assert res.returncode == 0, res.stderr + "\n" + text


BAD = [
    ("tcp-request", "    tcp-request connection reject", "mode udp"),
    ("use_backend", "    use_backend be if { src 10.0.0.1 }", "mode udp"),
    ("send-proxy-v1", "    server s2 127.0.0.1:10003 send-proxy", "send-proxy"),
    ("tcp-check", "    option tcp-check", "udp"),
    ("ssl-hello-chk", "    option ssl-hello-chk", "udp"),
]


@pytest.mark.parametrize("name,line,word", BAD, ids=[b[0] for b in BAD])
def test_bad_udp_configs(tmp_path, name, line, word):
    text = CHECK_HEAD.format(g="", d="") + (
        "listen l\n    mode udp\n    bind 127.0.0.1:10001\n"
        "    server s1 127.0.0.1:10002 check\n" + line + "\n")
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0, text
    assert re.search(re.escape(str(path)) + r":\d+: ", res.stderr), res.stderr
    assert word in res.stderr, res.stderr


def test_udp_frontend_to_tcp_backend(tmp_path):
    text = CHECK_HEAD.format(g="", d="") + (
        "frontend fe\n    mode udp\n    bind 127.0.0.1:10001\n    default_backend be\n"
        "backend be\n    server s1 127.0.0.1:10002\n")
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0
    assert re.search(re.escape(str(path)) + r":\d+: .*udp", res.stderr), res.stderr


def test_udp_check_in_a_tcp_backend(tmp_path):
    text = CHECK_HEAD.format(g="", d="") + (
        "backend be\n    udp-check send ping\n    server s1 127.0.0.1:10002 check\n")
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0
    assert re.search(re.escape(str(path)) + r":\d+: .*udp-check", res.stderr), res.stderr
