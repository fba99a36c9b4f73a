"""HAProxy's tcplog line, as sluice prints it with "log stdout format raw":

  %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq

e.g. 127.0.0.1:41295 [23/Nov/2024:08:31:57.130] fe be/s1 0/0/5007 212 -- 1/1/1/1/0 0/0
A mode udp session's line ends with " dgrams IN/OUT" (datagrams each way).
%Tt and %B take a leading '+' with "option logasap"; %rc takes one when the
session was redispatched.
"""
import re

TCPLOG_RE = re.compile(
    r"^(?P<ci>\S+):(?P<cp>\d+) "
    r"\[(?P<t>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] "
    r"(?P<ft>\S+) (?P<b>[^\s/]+)/(?P<s>\S+) "
    r"(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tt>\+?\d+) "
    r"(?P<B>\+?\d+) (?P<ts>\S\S) "
    r"(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) "
    r"(?P<sq>\d+)/(?P<bq>\d+)"
    r"(?: dgrams (?P<dgi>\d+)/(?P<dgo>\d+))?$")


class LogLine(dict):
    """One parsed tcplog line; keys are the field names above (strings),
    plus .raw. Numeric helpers: num('Tw')."""

    def __init__(self, raw, fields):
        super().__init__(fields)
        self.raw = raw

    def num(self, key):
        return int(self[key].lstrip("+"))

    @property
    def redispatched(self):
        return self["rc"].startswith("+")


def parse(line):
    """A LogLine, or None when the line is not a tcplog line."""
    m = TCPLOG_RE.match(line.rstrip("\r\n"))
    return LogLine(line, m.groupdict()) if m else None
