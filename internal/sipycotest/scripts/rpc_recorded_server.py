"""A SiPyCo pc_rpc server with the targets that recorded sipyco_pc_rpc.jsonl.

usage: rpc_recorded_server.py [--host 127.0.0.1] [--port 0] [--single]

The target classes below are the recording's (../shared/sipyco-wire/
README.md, "Target classes", verbatim): sigoco test code, not SiPyCo's.
Serves sipyco.pc_rpc.Server(targets, description, builtin_terminate=True),
allow_parallel=False, as simple_server_loop does, on a port chosen by the
OS: the main server {"main": Main(), "aux": Aux(), "fact": Fact}
(description "sipyco-wire recording server"), or with --single the single
server {"solo": Solo()} (description None). Prints "ready PORT HOST", then
runs until a client calls terminate() (prints "terminated", exit 0) or
stdin reaches EOF (prints "stdin closed", exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio
from fractions import Fraction

import numpy as np

from sipyco.pc_rpc import Server


class DeviceError(Exception):
    pass


class Opaque:
    """Not PYON-encodable; fixed repr so the error message is stable."""
    def __repr__(self):
        return "<Opaque>"


class Main:
    """Main recording target.

    Second docstring paragraph."""

    def __init__(self):
        self.count = 0
        self.attenuation = 0.0

    def echo(self, x):
        """Return x unchanged."""
        return x

    def echo_all(self, *args, **kwargs):
        """Return [args, kwargs]."""
        return [args, kwargs]

    def add(self, a, b=1, *, scale=1):
        """Return (a + b) * scale."""
        return (a + b) * scale

    def kwtest(self, a, *args, b=2, **kw):
        return {"a": a, "args": args, "b": b, "kw": kw}

    def annotated(self, x: float, y: int = 3, *, name: str = "n") -> str:
        """Annotated method."""
        return f"{x}/{y}/{name}"

    def set_attenuation(self, db: float):
        """Set the attenuation in dB."""
        self.attenuation = db

    def get_attenuation(self):
        """Return the attenuation in dB."""
        return self.attenuation

    def no_doc(self):
        return 1

    def defaults_zoo(self, a=None, b=(1, 2), c=1.5, d="s", e=-3, f=b"\x00",
                     g=1e-05, h=float("inf"), i=[1, [2]]):
        """Defaults of many types."""
        return [a, b, c, d, e, f, g, h, i]

    def posonly(self, a, b, /, c, *, d):
        """Positional-only and keyword-only parameters."""
        return [a, b, c, d]

    def kwonly_no_default(self, *, required, optional=None):
        return [required, optional]

    def def_exotic(self, x=1 + 2j, y=Fraction(1, 3), z={1}, s=slice(1, 2),
                   arr=np.array([1]), sc=np.int32(3), od={1: "a"}):
        """Defaults that are not plain JSON."""
        return None

    def varargs_only(self, *args):
        return list(args)

    def varkw_only(self, **kwargs):
        return kwargs

    def ndarray_annot(self, arg1: str, arg2: np.ndarray = np.array([1, ])) -> np.ndarray:
        return arg2

    def counter(self):
        """Increment and return a per-target counter."""
        self.count += 1
        return self.count

    def big_int(self, digits):
        """Return 10**(digits-1): an int with `digits` decimal digits."""
        return 10 ** (digits - 1)

    def return_frozenset(self):
        return frozenset({1, 2})

    def return_unencodable(self):
        return Opaque()

    def return_jsonclass_key(self):
        return {"__jsonclass__": 1}

    def return_deep_list(self):
        d = "bottom"
        for _ in range(50):
            d = [d]
        return d

    def raise_value_error(self, msg):
        raise ValueError(msg)

    def raise_key_error(self, k):
        d = {}
        return d[k]

    def raise_zero_division(self):
        return 1 / 0

    def raise_custom(self, msg):
        raise DeviceError(msg)

    def raise_multiline(self):
        raise RuntimeError("line one\nline two")

    def raise_not_implemented(self):
        raise NotImplementedError

    def raise_os_error(self):
        raise FileNotFoundError(2, "No such file or directory", "/nonexistent")

    def raise_chained(self):
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise ValueError("outer") from e

    async def async_echo(self, x):
        """A coroutine method: awaited by the server."""
        await asyncio.sleep(0.01)
        return x

    async def async_raise(self):
        await asyncio.sleep(0)
        raise ValueError("async failure")

    def getValue(self):
        return "camelCase method"


class Aux:
    def ping(self):
        return True


class Fact:
    """Factory target: the server calls the class for each connection."""
    def __init__(self):
        self.n = 0

    def counter(self):
        self.n += 1
        return self.n


class Solo:
    """Only target of the --single server."""
    def ping(self):
        """Return "pong"."""
        return "pong"


async def serve(args):
    if args.single:
        targets, description = {"solo": Solo()}, None
    else:
        targets = {"main": Main(), "aux": Aux(), "fact": Fact}
        description = "sipyco-wire recording server"
    server = Server(targets, description, builtin_terminate=True)
    await server.start(args.host, args.port)
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
    p.add_argument("--single", action="store_true")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
