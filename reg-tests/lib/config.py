"""Configuration text for the tests, HAProxy syntax."""
import textwrap

# global + defaults of the `sluice -c` tests, a str.format() template: {g}
# and {d} take extra lines of each section (already indented, or empty).
CHECK_HEAD = """\
global
    log stdout format raw local0
{g}
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
{d}
"""


def config(body, *, maxconn=4096, global_extra="", defaults_extra="",
           connect="2s", client="10s", server="10s", log=True):
    """global + defaults (mode tcp, tcplog to stdout, timeouts) + body.
    body and the extras are dedented, so tests can indent them freely."""
    glob = ["global", f"    maxconn {maxconn}"]
    if log:
        glob.append("    log stdout format raw local0")
    glob += _indent(global_extra)
    defs = ["defaults", "    mode tcp", f"    timeout connect {connect}",
            f"    timeout client {client}", f"    timeout server {server}"]
    if log:
        defs += ["    log global", "    option tcplog"]
    defs += _indent(defaults_extra)
    return "\n".join(glob + [""] + defs + [""]) + "\n" + \
        textwrap.dedent(body).strip("\n") + "\n"


def _indent(text):
    return ["    " + ln.strip() for ln in textwrap.dedent(text).splitlines()
            if ln.strip()]



def fe_be(fe_port, backend_lines, *, global_extra="", be_name="be"):
    """config() with `frontend fe` on 127.0.0.1:fe_port sending everything
    to backend be_name, which holds backend_lines (one a line, unindented)."""
    lines = ["frontend fe", f"    bind 127.0.0.1:{fe_port}",
             f"    default_backend {be_name}", "", f"backend {be_name}"]
    lines += ["    " + ln for ln in backend_lines]
    return config("\n".join(lines), global_extra=global_extra)


def start_fe_be(sluice, port, backend_lines, **kw):
    """Start fe_be() on a fresh port with the sluice and port fixtures;
    returns (frontend port, Sluice)."""
    fe = port()
    return fe, sluice(fe_be(fe, backend_lines, **kw), ports=[fe])
