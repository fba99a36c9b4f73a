"""Check keywords under `sluice -c`: every documented form is accepted, and
each misconfiguration fails with FILE:LINE and a message that names the
problem."""
import re

import pytest

from lib.config import CHECK_HEAD
from lib.sluice import check_config

VALID = "Configuration file is valid"

BASE = CHECK_HEAD + """\
backend other
    server o1 127.0.0.1:10009 check

listen lb
    bind 127.0.0.1:10001
{l}
    server s1 127.0.0.1:10002 {s}
"""


def _cfg(g="", d="", l="", s=""):
    def ind(t):
        return "\n".join("    " + x for x in t.splitlines()) if t else ""
    return BASE.format(g=ind(g), d=ind(d), l=ind(l), s=s)


GOOD = [
    ("check", {"s": "check"}),
    ("timers", {"s": "check inter 2s fastinter 500ms downinter 10s rise 3 fall 2"}),
    ("port-addr", {"s": "check port 8080 addr 127.0.0.2"}),
    ("backup-slowstart", {"s": "check backup slowstart 30s"}),
    ("observe", {"s": "check observe layer4 error-limit 5 on-error sudden-death"}),
    ("on-marked", {"s": "check on-marked-down shutdown-sessions "
                        "on-marked-up shutdown-backup-sessions"}),
    ("agent", {"s": "agent-check agent-port 9999 agent-inter 5s agent-addr 127.0.0.3 "
                    "agent-send \"status\\n\""}),
    ("send-proxy", {"s": "check check-send-proxy"}),
    ("check-ssl", {"s": "check check-ssl check-sni db.example verify none"}),
    ("ssl-server-verify", {"g": "ssl-server-verify none", "s": "check check-ssl"}),
    ("track", {"s": "track other/o1"}),
    ("default-server", {"l": "default-server check inter 1s rise 1 fall 1"}),
    ("no-check", {"l": "default-server check", "s": "no-check"}),
    ("spread-checks", {"g": "spread-checks 5"}),
    ("timeout-check", {"d": "timeout check 2s"}),
    ("allbackups", {"l": "option allbackups"}),
    ("log-health-checks", {"l": "option log-health-checks"}),
    ("tcp-check", {"l": "option tcp-check\ntcp-check connect port 6379\n"
                        "tcp-check send PING\\r\\n\n"
                        "tcp-check expect string +PONG comment pong\n"
                        "tcp-check send-binary 0a0b\n"
                        "tcp-check expect rbinary ^0A\n"
                        "tcp-check comment final\n"
                        "tcp-check expect ! rstring ^ERR", "s": "check"}),
    ("tcp-check-in-defaults", {"d": "option tcp-check\ntcp-check send x\n"
                                    "tcp-check expect string y", "s": "check"}),
    ("ssl-hello", {"l": "option ssl-hello-chk", "s": "check"}),
    ("redis", {"l": "option redis-check", "s": "check"}),
    ("mysql", {"l": "option mysql-check user haproxy", "s": "check"}),
    ("mysql-nouser", {"l": "option mysql-check", "s": "check"}),
    ("pgsql", {"l": "option pgsql-check user monitor", "s": "check"}),
]


@pytest.mark.parametrize("name,parts", GOOD, ids=[g[0] for g in GOOD])
def test_good_check_configs(tmp_path, name, parts):
    _, res = check_config(tmp_path, _cfg(**parts))
    assert res.returncode == 0 and VALID in res.stdout, res.stderr


# (id, parts, text of the line the error must point at, words the message must have)
BAD = [
    ("expect-no-pattern", {"l": "option tcp-check\ntcp-check expect string"},
     "tcp-check expect", ["expect"]),
    ("expect-bad-type", {"l": "option tcp-check\ntcp-check expect strng foo"},
     "tcp-check expect", ["strng"]),
    ("expect-bad-regex", {"l": "option tcp-check\ntcp-check expect rstring ab("},
     "tcp-check expect", ["rstring"]),
    ("send-binary-odd", {"l": "option tcp-check\ntcp-check send-binary abc"},
     "send-binary", ["send-binary"]),
    ("tcp-check-unknown", {"l": "option tcp-check\ntcp-check set-var(a) int(1)"},
     "set-var", ["set-var"]),
    ("unknown-option", {"l": "option foo-check"}, "foo-check", ["foo-check"]),
    ("pgsql-no-user", {"l": "option pgsql-check"}, "pgsql-check", ["pgsql-check"]),
    ("inter-bad", {"s": "check inter abc"}, "server s1", ["inter"]),
    ("rise-zero", {"s": "check rise 0"}, "server s1", ["rise"]),
    ("observe-layer7", {"s": "check observe layer7"}, "server s1", ["observe"]),
    ("on-error-bad", {"s": "check on-error reboot"}, "server s1", ["on-error"]),
    ("agent-no-port", {"s": "agent-check"}, "server s1", ["agent-port"]),
    ("track-unknown", {"s": "track other/nope"}, "server s1", ["nope"]),
    ("track-unchecked", {"s": "track lb/s2"}, "server s1", ["track"]),
    ("verify-no-ca", {"s": "check check-ssl"}, "server s1", ["ca-file"]),
    ("ca-file-missing", {"s": "check check-ssl verify required ca-file /nonexistent.pem"},
     "server s1", ["/nonexistent.pem"]),
    ("spread-checks-big", {"g": "spread-checks 90"}, "spread-checks", ["spread-checks"]),
]


@pytest.mark.parametrize("name,parts,marker,words", BAD, ids=[b[0] for b in BAD])
def test_bad_check_configs(tmp_path, name, parts, marker, words):
    text = _cfg(**parts)
    if name == "track-unchecked":
        text += "    server s2 127.0.0.1:10003\n"
    path, res = check_config(tmp_path, text)
    assert res.returncode != 0, f"accepted:\n{text}"
    line = next(i + 1 for i, ln in enumerate(text.splitlines()) if marker in ln)
    m = re.search(re.escape(str(path)) + r":(\d+): (.*)", res.stderr)
    assert m, res.stderr
    assert int(m.group(1)) == line, f"line {m.group(1)} != {line}\n{text}\n{res.stderr}"
    for w in words:
        assert w in m.group(2), res.stderr
