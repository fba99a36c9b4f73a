"""Configuration text for the tests, HAProxy syntax."""
import textwrap


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

