"""A logging.Handler whose records become the run's log on trackd.

Records travel as SiPyCo's ``ARTIQ logging`` lines (docs/protocol-log.md)
with the run id as the source, sent by the run's sender thread on a
connection of their own. As with SiPyCo's LogForwarder (and the Go
client's logs), they are not spooled: records emitted while trackd is down,
or in a connection that breaks, are lost; at most 10,000 wait in memory.
"""

import logging

_LEVELS = ((logging.CRITICAL, "CRITICAL"), (logging.ERROR, "ERROR"), (logging.WARNING, "WARNING"),
           (logging.INFO, "INFO"), (logging.DEBUG, "DEBUG"))


def level_name(no):
    for n, name in _LEVELS:
        if no >= n:
            return name
    return "TRACE"


def line(source, levelno, name, message):
    """One record as ARTIQ logging text (with its newline)."""
    name = (name or "root").replace(":", "_").replace("\n", " ").replace("\r", " ")
    parts = message.split("\n")
    lv = level_name(levelno)
    if len(parts) > 1:
        lv = "%s<%d>" % (lv, len(parts))
    return "%s:%s:%s:%s\n" % (source, lv, name, "\n".join(parts))


class Handler(logging.Handler):
    """Send records to the current run's log (or to run, if given). Records
    logged when nothing is tracked are ignored."""

    def __init__(self, level=logging.NOTSET, run=None):
        super().__init__(level)
        self._run = run

    def emit(self, record):
        try:
            r = self._run
            if r is None:
                from . import api
                r = api._current()
                if r is None:
                    return
            msg = self.format(record) if self.formatter else record.getMessage()
            if record.exc_info and not self.formatter:
                msg += "\n" + logging.Formatter().formatException(record.exc_info)
            r.log_line(line(r.id, record.levelno, record.name, msg))
        except Exception:
            self.handleError(record)
