"""Where the binary is and how slow it may be.

SLUICE_BIN   path of the binary under test (default: <repo>/sluice)
SLUICE_ASAN  "1" when the binary is an ASan/UBSan build: every time budget is
             multiplied by SCALE and sanitizer reports fail the test.
"""
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SLUICE_BIN") or str(REPO / "sluice")
ASAN = os.environ.get("SLUICE_ASAN") == "1"
SCALE = 3.0 if ASAN else 1.0

# Lines a sanitizer prints when it found a bug; any of them fails the test.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
)


def tmo(seconds):
    """A time budget, stretched for sanitizer builds."""
    return seconds * SCALE


def child_env(extra=None):
    """Environment for sluice: ours plus sanitizer options."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    if extra:
        env.update(extra)
    return env
