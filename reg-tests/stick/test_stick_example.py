"""examples/stick-tables.cfg as shipped, with test ports: game clients are
served and stick to their server, a client that sends garbage is flagged
and refused at its next connection, a connection flood is cut."""
import pathlib
import re

from lib.client import connect, read_line, wait_closed

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load(fe, addrs):
    text = (ROOT / "examples" / "stick-tables.cfg").read_text()
    text = text.replace("bind :7000", f"bind 127.0.0.1:{fe}")
    for i, addr in enumerate(addrs, 1):
        text = re.sub(rf"10\.0\.2\.1{i}:7000", addr, text)
    return text


def _game(fe, src):
    s = connect(fe, src=src)
    try:
        s.sendall(b"GAME hello\n")
        return read_line(s, timeout=3)
    except (OSError, EOFError, TimeoutError):
        return None
    finally:
        s.close()


def test_example_stick_tables(sluice, servers, port):
    g = [servers.ident(f"g{i}") for i in (1, 2, 3)]
    fe = port()
    sluice(_load(fe, [x.addr for x in g]), ports=[fe])
    home = _game(fe, "127.0.0.2")
    assert home in ("g1", "g2", "g3")
    assert [_game(fe, "127.0.0.2") for _ in range(3)] == [home] * 3

    # garbage: refused, and the client is flagged for later connections
    s = connect(fe, src="127.0.0.3")
    s.sendall(b"HTTP/1.0\r\n")
    state, _, data = wait_closed(s, 5)
    s.close()
    assert state != "open" and data == b""
    assert _game(fe, "127.0.0.3") is None
    assert _game(fe, "127.0.0.4") is not None

    # more than 20 connections in 10 s from one address: the rest refused
    got = [_game(fe, "127.0.0.5") for _ in range(24)]
    assert got.count(None) >= 3 and got[:20].count(None) == 0, got
