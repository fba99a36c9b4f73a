"""Dropping privileges: after binding, the worker runs as the configured
user with exactly the capabilities listed in setcap."""
import os
import pwd

import pytest

from lib.client import ask_id
from lib.config import config


def _status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
@pytest.mark.parametrize("setcap,capeff", [("cap_net_bind_service", 1 << 10), ("", 0)])
def test_user_and_capabilities_after_drop(sluice, servers, port, setcap, capeff):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    s1 = servers.ident("s1")
    fe = port()
    glob = "user nobody\n" + (f"setcap {setcap}\n" if setcap else "")
    sl = sluice(config(f"""
        frontend fe
            bind 127.0.0.1:{fe}
            default_backend be
        backend be
            server s1 {s1.addr}
        """, global_extra=glob), ports=[fe])
    st = _status(sl.pid)
    assert st["Uid"].split() == [str(nobody.pw_uid)] * 4, st["Uid"]
    assert int(st["CapEff"], 16) == capeff, st["CapEff"]
    assert int(st["CapPrm"], 16) == capeff, st["CapPrm"]
    assert ask_id(fe) == "s1"
