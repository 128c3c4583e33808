"""Sends log records with SiPyCo's LogForwarder, as a controller does.

usage: log_forwarder.py HOST PORT [--source ctl_lda] [--logger lda.driver]
                        [--record LEVEL:MESSAGE ... | --no-records]
                        [--reconnect 0.1]
                        [--drain-timeout 10] [--ssl CERT KEY PEER]

Without --record (or --no-records) it sends four records: info
"attenuation set to 5.5 dB", warning "temperature high: 71 C", error
"first line\\nsecond line\\nthird line" and debug "debug: colon: inside".
LEVEL is TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL; MESSAGE may hold
newlines. Each stdin line that is a JSON array [LEVEL, MESSAGE] sends one
more record; [LEVEL, MESSAGE, LOGGER, SOURCE] sends it through logger
LOGGER (same handlers) with record.source SOURCE (what SourceFilter then
keeps), and LEVEL may be a number (e.g. 25, which logging names
"Level 25"). Stdout, one JSON line each:
  {"event": "queued", "lines": ["ctl_lda:INFO:lda.driver:attenuation ..."]}
    for the records handed to the forwarder (the exact text it sends, less
    the final newline; multi-line records hold their newlines), and at exit
  {"event": "done", "sent": [every line queued], "drained": bool}.
At stdin EOF it waits (at most --drain-timeout seconds) until the forwarder
has written everything, stops it and exits: 0 if drained, else 1. So as a
one-shot program (stdin empty) it sends its records and exits.
"""

import sipycotest_common as common

import argparse
import asyncio
import json
import logging
import sys

try:
    from sipyco import logs
except ImportError:  # SiPyCo before the logging_tools -> logs rename
    from sipyco import logging_tools as logs

RECORDED = [
    ("INFO", "attenuation set to 5.5 dB"),
    ("WARNING", "temperature high: 71 C"),
    ("ERROR", "first line\nsecond line\nthird line"),
    ("DEBUG", "debug: colon: inside"),
]


class Capture(logging.Handler):
    """Keeps the text LogForwarder sends for each record (its emit()
    queues record.source + ":" + MultilineFormatter().format(record))."""

    def __init__(self):
        logging.Handler.__init__(self)
        self.setFormatter(logs.MultilineFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(record.source + ":" + self.format(record))


def level_of(name):
    if isinstance(name, int):
        return name
    level = logging.getLevelName(name.upper())
    if not isinstance(level, int):
        raise ValueError("unknown level " + repr(name))
    return level


async def run(args, records):
    forwarder = logs.LogForwarder(args.host, args.port,
                                  reconnect_timer=args.reconnect,
                                  **common.ssl_kwargs(args))
    capture = Capture()
    logger = logging.getLogger(args.logger)
    logger.setLevel(1)
    logger.propagate = False
    # As in a controller: records get their source, none is filtered out.
    logger.addFilter(logs.SourceFilter(1, args.source))
    logger.addHandler(forwarder)
    logger.addHandler(capture)
    forwarder.start()
    sent = []

    loggers = {args.logger: logger}

    def logger_of(name):
        if name not in loggers:
            other = logging.getLogger(name)
            other.setLevel(1)
            other.propagate = False
            other.addFilter(logs.SourceFilter(1, args.source))
            other.addHandler(forwarder)
            other.addHandler(capture)
            loggers[name] = other
        return loggers[name]

    def send(batch):
        n = len(capture.lines)
        for level, message, *where in batch:
            if where:
                name, source = where
                logger_of(name).log(level, message, extra={"source": source})
            else:
                logger.log(level, message)
        sent.extend(capture.lines[n:])
        common.emit({"event": "queued", "lines": capture.lines[n:]})

    def on_line(line):
        if not line.strip():
            return
        try:
            level, message, *where = json.loads(line)
            send([(level_of(level), message, *where)])
        except Exception as e:
            print("bad stdin line {!r}: {}".format(line, e), file=sys.stderr,
                  flush=True)

    send(records)
    await common.watch_stdin(on_line).wait()
    drained = await drain(forwarder, args.drain_timeout)
    await forwarder.stop()
    # Let the transport close after its buffer is written.
    await asyncio.sleep(0)
    common.emit({"event": "done", "sent": sent, "drained": drained})
    return 0 if drained else 1


async def drain(forwarder, timeout):
    # LogForwarder has no public flush. It pops a line from its queue and
    # writes it to the socket in the same step, so an empty queue means
    # every line reached the socket; _queue is the one private name used.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not forwarder._queue.empty():
        if loop.time() > deadline:
            print("records not delivered within {} s".format(timeout),
                  file=sys.stderr, flush=True)
            return False
        await asyncio.sleep(0.01)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--source", default="ctl_lda")
    p.add_argument("--logger", default="lda.driver")
    p.add_argument("--record", action="append", metavar="LEVEL:MESSAGE")
    p.add_argument("--no-records", action="store_true",
                   help="send only the records given on stdin")
    p.add_argument("--reconnect", type=float, default=0.1,
                   help="LogForwarder reconnect_timer in seconds")
    p.add_argument("--drain-timeout", type=float, default=10.0)
    common.add_ssl_argument(p)
    args = p.parse_args()
    if args.no_records:
        records = []
    elif args.record:
        records = []
        for r in args.record:
            level, sep, message = r.partition(":")
            if not sep:
                p.error("--record wants LEVEL:MESSAGE, got " + repr(r))
            records.append((level_of(level), message))
    else:
        records = [(level_of(lv), m) for lv, m in RECORDED]
    sys.exit(asyncio.run(run(args, records)))


if __name__ == "__main__":
    main()
