"""SiPyCo's Broadcaster (sipyco.broadcast), driven by commands on stdin.

usage: broadcast_server.py [--host 127.0.0.1] [--port 0] [--ssl CERT KEY PEER]

Prints "ready PORT HOST", then reads one command per stdin line and answers
each with one stdout line:

  wait CHANNEL N       wait until N receivers are connected to CHANNEL;
                       prints "ok wait"
  send CHANNEL PYON    broadcast(CHANNEL, pyon.decode(PYON)); prints "ok send"

Stdin EOF stops the broadcaster (exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio

from sipyco import pyon
from sipyco.broadcast import Broadcaster


async def serve(args):
    b = Broadcaster()
    await b.start(args.host, args.port, **common.ssl_kwargs(args))
    pending = []

    async def wait(channel, n):
        while len(b._recipients.get(channel, ())) < n:
            await asyncio.sleep(0.01)
        print("ok wait", flush=True)

    def on_line(line):
        verb, _, rest = line.partition(" ")
        if verb == "wait":
            channel, n = rest.rsplit(" ", 1)
            pending.append(asyncio.ensure_future(wait(channel, int(n))))
        elif verb == "send":
            channel, _, text = rest.partition(" ")
            b.broadcast(channel, pyon.decode(text))
            print("ok send", flush=True)
        else:
            print("error {}: unknown command".format(verb), flush=True)

    try:
        common.ready(b, args.host)
        await common.watch_stdin(on_line).wait()
    finally:
        for p in pending:
            p.cancel()
        await b.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    common.add_ssl_argument(p)
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
