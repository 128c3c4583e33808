"""SiPyCo's log server (the one an ARTIQ master runs), printing every
record it receives as one JSON line.

usage: log_server.py [--host 127.0.0.1] [--port 0] [--ssl CERT KEY PEER]

Prints "ready PORT HOST", then for each record:
  {"source": "ctl_lda", "name": "lda.driver", "level": 20,
   "levelname": "INFO", "message": "...", "forwarded": true}
Forwarded records are the ones parsed from clients' lines (SiPyCo attaches
their source). Warnings of the server itself (e.g. "received improperly
formatted message, dropping connection ...") come out too, with "source":
null and "forwarded": false. Stdin EOF stops the server (exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio
import logging

try:
    from sipyco import logs
except ImportError:  # SiPyCo before the logging_tools -> logs rename
    from sipyco import logging_tools as logs


class JSONLines(logging.Handler):
    def emit(self, record):
        forwarded = hasattr(record, "source")
        if not forwarded and not record.name.startswith("sipyco"):
            return  # e.g. asyncio's own debug messages
        common.emit({"source": getattr(record, "source", None),
                     "name": record.name, "level": record.levelno,
                     "levelname": record.levelname,
                     "message": record.getMessage(), "forwarded": forwarded})


async def serve(args):
    server = logs.Server()
    await server.start(args.host, args.port, **common.ssl_kwargs(args))
    try:
        common.ready(server, args.host)
        await common.watch_stdin().wait()
    finally:
        await server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    common.add_ssl_argument(p)
    args = p.parse_args()
    # Forwarded records are logged through the "fwd" logger (renamed per
    # record) and propagate to the root, as in an ARTIQ master.
    root = logging.getLogger()
    root.setLevel(1)  # everything, TRACE (5) included
    root.addHandler(JSONLines())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
