"""Fixtures for sluice's black-box reg-tests.

  port()            a free loopback TCP port (never twice in a run)
  servers           factory of test backends (lib/servers.py), stopped at
                    teardown: servers.ident("s1"), servers.echo(), ...
  sluice(cfg, ports=[...], ...)
                    start `$SLUICE_BIN -db -f cfg`, wait until it listens
                    on those ports; stopped at teardown, where a crash, a
                    hang on SIGTERM or a sanitizer report fails the test.
Run with: /usr/bin/python3 -m pytest reg-tests   (SLUICE_BIN, SLUICE_ASAN)
"""
import os
import resource
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import servers as srvmod  # noqa: E402
from lib.env import BIN  # noqa: E402
from lib.ports import free_port  # noqa: E402
from lib.sluice import Sluice  # noqa: E402


def _raise_nofile():
    """The 2000-connection test needs ~4500 fds in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    want = min(want, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


_raise_nofile()


@pytest.fixture
def port():
    return free_port


class Servers:
    """Creates test backends and remembers them for teardown."""

    def __init__(self):
        self.all = []

    def _add(self, srv):
        self.all.append(srv)
        return srv

    def ident(self, name, host="127.0.0.1"):
        return self._add(srvmod.IdServer(name, host=host))

    def echo(self, host="127.0.0.1"):
        return self._add(srvmod.EchoServer(host=host))

    def banner(self, banner=b"SSH-2.0-test\r\n"):
        return self._add(srvmod.BannerServer(banner))

    def hold(self, close_on_eof=True):
        return self._add(srvmod.HoldServer(close_on_eof))

    def sink(self):
        return self._add(srvmod.SinkHashServer())

    def source(self, payload):
        return self._add(srvmod.SourceServer(payload))

    def halfclose(self, banner=b"bye\n"):
        return self._add(srvmod.HalfCloseServer(banner))

    def blackhole(self):
        try:
            return self._add(srvmod.BlackHole())
        except RuntimeError as e:
            pytest.skip(str(e))

    def refused(self):
        """host:port where nothing listens: connecting gets a RST."""
        return f"127.0.0.1:{free_port()}"

    def stop_all(self):
        for s in reversed(self.all):
            s.stop()


@pytest.fixture
def servers():
    reg = Servers()
    yield reg
    reg.stop_all()


@pytest.fixture
def sluice(tmp_path):
    """sluice(cfg, ports=[...], args=[...], env={...}, nofile=N)."""
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"no sluice binary at {BIN}: run `make sluice` or set "
                    f"SLUICE_BIN")
    started = []

    def start(cfg, ports=(), **kw):
        kw.setdefault("name", f"sluice{len(started)}")
        inst = Sluice(cfg, tmp_path, ports, **kw)
        started.append(inst)
        return inst.start()

    yield start
    errors = []
    for inst in started:
        try:
            inst.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)
