"""A SiPyCo pc_rpc server like the one that produced sipyco_pc_rpc.jsonl.

usage: rpc_server.py [--host 127.0.0.1] [--port 0] [--targets lda,aux]
                     [--description "transcript server"] [--allow-parallel]
                     [--ssl CERT KEY PEER]

Serves sipyco.pc_rpc.Server(targets, description, builtin_terminate=True),
as simple_server_loop does, but on a port chosen by the OS (simple_server_loop
cannot report it). Target kinds: lda and aux are the Controller below (as
recorded); probe is a Probe whose describe(*args, **kwargs) reports how
SiPyCo decoded what it received. Prints "ready PORT HOST", then runs until
a client calls terminate() (prints "terminated", exit 0) or stdin reaches
EOF (prints "stdin closed", exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio

from sipyco.pc_rpc import Server


class Controller:
    """Attenuator controller used to record SiPyCo wire transcripts."""

    def __init__(self):
        self._db = 0.0

    def set_attenuation(self, db: float):
        """Set the attenuation in dB."""
        self._db = db

    def get_attenuation(self):
        """Return the attenuation in dB."""
        return self._db

    def echo(self, x):
        return x

    def add(self, a, b=1, *, scale=1):
        """Return (a+b)*scale."""
        return (a + b) * scale

    def fail(self):
        raise ValueError("attenuation out of range")

    def fail_custom(self):
        class DeviceError(Exception):  # a non-builtin class, as recorded
            pass
        raise DeviceError("device not responding")

    async def slow(self, t):
        await asyncio.sleep(t)
        return t


class Probe:
    """Reports how SiPyCo decoded the arguments of a call."""

    def describe(self, *args, **kwargs):
        """Return {"args": [...], "kwargs": {...}}, each value described by
        type, repr, JSON view and PYON text."""
        return {"args": [common.describe(a) for a in args],
                "kwargs": {k: common.describe(v) for k, v in kwargs.items()}}


TARGET_KINDS = {"lda": Controller, "aux": Controller, "probe": Probe}


async def serve(args):
    targets = {}
    for name in args.targets.split(","):
        targets[name] = TARGET_KINDS[name]()
    server = Server(targets, args.description, builtin_terminate=True,
                    allow_parallel=args.allow_parallel)
    await server.start(args.host, args.port, **common.ssl_kwargs(args))
    try:
        common.ready(server, args.host)
        stdin_closed = common.watch_stdin()
        terminate = asyncio.ensure_future(server.wait_terminate())
        eof = asyncio.ensure_future(stdin_closed.wait())
        await asyncio.wait([terminate, eof],
                           return_when=asyncio.FIRST_COMPLETED)
        print("terminated" if terminate.done() else "stdin closed", flush=True)
        terminate.cancel()
        eof.cancel()
    finally:
        await server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--targets", default="lda,aux",
                   help="comma-separated names from: " + ", ".join(TARGET_KINDS))
    p.add_argument("--description", default="transcript server")
    p.add_argument("--allow-parallel", action="store_true")
    common.add_ssl_argument(p)
    args = p.parse_args()
    for name in args.targets.split(","):
        if name not in TARGET_KINDS:
            p.error("unknown target kind " + repr(name))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
