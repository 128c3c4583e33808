"""SiPyCo's broadcast Receiver, printing what it receives.

usage: broadcast_receiver.py HOST PORT CHANNEL [--ssl CERT KEY PEER]

Prints "connected" once connected, then "msg PYON" for each message
received (pyon.encode of the decoded value: the exact value, for Go to
decode) and "disconnected" when the broadcaster closes the connection.
Stdin EOF stops the receiver (exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio

from sipyco import pyon
from sipyco.broadcast import Receiver


async def run(args):
    done = asyncio.Event()

    def on_message(obj):
        print("msg " + pyon.encode(obj), flush=True)

    def on_disconnect():
        print("disconnected", flush=True)
        done.set()

    r = Receiver(args.channel, on_message, on_disconnect)
    kw = {}
    if args.ssl:
        kw = common.ssl_kwargs(args)
    await r.connect(args.host, args.port, **kw)
    print("connected", flush=True)
    eof = common.watch_stdin()
    waits = [asyncio.ensure_future(done.wait()), asyncio.ensure_future(eof.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for w in waits:
        w.cancel()
    if not done.is_set():
        await r.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("channel")
    common.add_ssl_argument(p)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
