"""Every configuration in examples/ passes `sluice -c` (run from the
repository root, where their relative paths point; quickstart.cfg takes its
ports from the environment, as admin/demo.sh sets them)."""
import os
import pathlib

import pytest

from lib.sluice import run_bin

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.cfg"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_config_is_valid(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    env = dict(os.environ, DEMO_PORT="18080", BACKEND1_PORT="18081",
               BACKEND2_PORT="18082")
    res = run_bin(["-c", "-f", str(path.relative_to(ROOT))], env=env)
    assert res.returncode == 0, res.stderr
