"""`sluice -c` on stick-table configurations: good ones pass, and every
mistake is reported at its FILE:LINE."""
import re

import pytest

from lib.config import CHECK_HEAD
from lib.sluice import check_config

FE = "frontend fe\n    bind 127.0.0.1:10001\n    default_backend be\n"
BE = "backend be\n    server s1 127.0.0.1:10002\n"

GOOD = [
    ("rate-limit", FE.replace("default_backend be\n",
        "stick-table type ip size 100k expire 30s store conn_rate(10s),conn_cur\n"
        "    tcp-request connection track-sc0 src\n"
        "    tcp-request connection reject if { sc0_conn_rate gt 10 } || { sc0_conn_cur gt 5 }\n"
        "    default_backend be\n") + BE),
    ("persistence", FE + "backend be\n    stick-table type ipv6 size 1m expire 1h\n"
        "    stick on src\n    server s1 127.0.0.1:10002\n    server s2 127.0.0.1:10003\n"),
    ("every-type", FE + "backend be\n"
        "    stick-table type string len 64 size 10k expire 5m nopurge "
        "store gpc0,gpc0_rate(1m),gpc1,gpc1_rate(1m),gpt0,conn_cnt,conn_cur,conn_rate(10s) "
        "store sess_cnt,sess_rate(10s),bytes_in_cnt,bytes_in_rate(1s),bytes_out_cnt,"
        "bytes_out_rate(1s),server_id\n"
        "    server s1 127.0.0.1:10002\n"
        "backend arrays\n    stick-table type ip size 1k store gpt(3),gpc(2),gpc_rate(2,10s)\n"
        "    server s1 127.0.0.1:10002\n"),
    ("integer-binary", "backend b1\n    stick-table type integer size 1k\n"
        "    server s1 127.0.0.1:10002\n"
        "backend b2\n    stick-table type binary len 16 size 1k\n    server s1 127.0.0.1:10002\n"),
    ("peers-table", "peers p\n    table t type ip size 1k store gpc0\n"
        + FE.replace("default_backend be\n",
                     "tcp-request connection track-sc2 src table p/t\n"
                     "    tcp-request connection sc-inc-gpc0(2)\n"
                     "    tcp-request connection reject if { sc2_get_gpc0 gt 3 }\n"
                     "    default_backend be\n") + BE),
    ("table-declared-below", FE.replace("default_backend be\n",
        "tcp-request connection reject if { src_conn_rate(counters) gt 3 }\n"
        "    default_backend be\n") + BE +
        "backend counters\n    stick-table type ip size 1k store conn_rate(3s)\n"),
    ("converter", FE.replace("default_backend be\n",
        "tcp-request connection reject if { src,table_gpc0(be) gt 0 }\n"
        "    default_backend be\n") +
        "backend be\n    stick-table type ip size 1k store gpc0\n    server s1 127.0.0.1:10002\n"),
]


@pytest.mark.parametrize("name,body", GOOD, ids=[g[0] for g in GOOD])
def test_good_configs_pass(tmp_path, name, body):
    text = CHECK_HEAD.format(g="", d="") + body
    _, res = check_config(tmp_path, text)
    assert res.returncode == 0, res.stderr + "\n" + text


BAD = [
    ("no-type", "stick-table size 1k", "type"),
    ("no-size", "stick-table type ip", "size"),
    ("bad-type", "stick-table type mac size 1k", "mac"),
    ("len-on-ip", "stick-table type ip len 4 size 1k", "len"),
    ("unknown-store", "stick-table type ip size 1k store conn_rte(10s)", "conn_rte"),
    ("rate-without-period", "stick-table type ip size 1k store conn_rate", "conn_rate"),
    ("gpc-and-gpc0", "stick-table type ip size 1k store gpc0,gpc(2)", "gpc"),
    ("http-counter", "stick-table type ip size 1k store http_req_rate(10s)", "http_req_rate"),
    ("peers-sync", "stick-table type ip size 1k peers mypeers", "peers"),
    ("second-table", "stick-table type ip size 1k\n    stick-table type ip size 2k", "stick-table"),
    ("unknown-table-arg", "tcp-request connection reject if { src_conn_rate(nope) gt 1 }", "nope"),
    ("counter-not-stored", "stick-table type ip size 1k store conn_cur\n"
        "    tcp-request connection track-sc0 src\n"
        "    tcp-request connection reject if { sc0_conn_rate gt 1 }", "conn_rate"),
    ("src-counter-not-stored", "stick-table type ip size 1k store conn_cnt\n"
        "    tcp-request connection reject if { src_gpc0_rate gt 1 }", "gpc0_rate"),
    ("no-own-table", "tcp-request connection reject if { src_conn_cur gt 1 }", "stick-table"),
    ("track-sc3", "stick-table type ip size 1k\n    tcp-request connection track-sc3 src", "track-sc3"),
    ("track-unknown-table", "tcp-request connection track-sc0 src table nowhere", "nowhere"),
    ("converter-not-stored", "stick-table type ip size 1k store conn_cnt\n"
        "    tcp-request connection reject if { src,table_gpc0(fe) gt 0 }", "gpc0"),
    ("stick-on-in-frontend", "stick-table type ip size 1k\n    stick on src", "stick"),
    ("stick-store-response", "stick store-response src", "store-response"),
]


@pytest.mark.parametrize("name,line,word", BAD, ids=[b[0] for b in BAD])
def test_bad_configs_fail_with_file_and_line(tmp_path, name, line, word):
    text = CHECK_HEAD.format(g="", d="") + (
        "frontend fe\n    bind 127.0.0.1:10001\n"
        f"    {line}\n    default_backend be\n" + BE)
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0, text
    last = line.splitlines()[-1].strip()
    want = next(i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == last)
    m = re.search(re.escape(str(path)) + r":(\d+): (.*)", res.stderr)
    assert m and int(m.group(1)) == want, res.stderr
    assert word in res.stderr, res.stderr


BAD_ELSEWHERE = [
    ("stick-in-defaults", "defaults\n    stick-table type ip size 1k\n", "stick-table"),
    ("fetch-in-defaults", "defaults\n    balance hash src_conn_cnt(be)\n", "defaults"),
    ("peer-line", "peers p\n    peer host1 127.0.0.1:10000\n", "peer"),
    ("stick-on-no-table", "backend b2\n    stick on src\n    server s1 127.0.0.1:10002\n", "stick"),
    ("duplicate-peers-table", "peers p\n    table t type ip size 1k\n    table t type ip size 2k\n", "t"),
]


@pytest.mark.parametrize("name,body,word", BAD_ELSEWHERE, ids=[b[0] for b in BAD_ELSEWHERE])
def test_bad_sections_fail_with_file_and_line(tmp_path, name, body, word):
    text = CHECK_HEAD.format(g="", d="") + FE + BE + body
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0, text
    m = re.search(re.escape(str(path)) + r":(\d+): (.*)", res.stderr)
    assert m, res.stderr
    last = body.splitlines()[-2 if name == "stick-on-no-table" else -1].strip()
    want = next(i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == last)
    assert int(m.group(1)) == want, res.stderr
    assert word in res.stderr, res.stderr
