"""Helpers shared by sigoco's SiPyCo integration scripts.

This is sigoco test code, not SiPyCo code: it only uses SiPyCo's public API.
Conventions of every script:
- a server prints ``ready PORT HOST`` once it listens, then runs until its
  standard input reaches EOF (so it never outlives the Go test that started
  it), or until a client asks it to terminate where SiPyCo allows that;
- results go to stdout as JSON, one object per line; diagnostics to stderr;
- ``--ssl CERT KEY PEER`` enables TLS as SiPyCo's SimpleSSLConfig does.
"""

import sipycotest_compat  # noqa: F401 -- must precede every sipyco import

import asyncio
import base64
import json
import math
import sys
import threading
from collections import OrderedDict
from fractions import Fraction

import numpy

from sipyco import pyon


def emit(obj):
    """Print one JSON object as one stdout line."""
    print(json.dumps(obj, allow_nan=False), flush=True)


def ready(asyncio_server, host):
    """Print the ready line of a started sipyco AsyncioServer."""
    port = asyncio_server.server.sockets[0].getsockname()[1]
    print("ready {} {}".format(port, host), flush=True)


def add_ssl_argument(parser):
    parser.add_argument("--ssl", nargs=3, metavar=("CERT", "KEY", "PEER"),
                        help="TLS: own certificate, own key, peer "
                             "certificate(s) to trust (SimpleSSLConfig)")


def ssl_kwargs(args):
    """{"ssl_config": SimpleSSLConfig} when --ssl was given, else {} (so the
    scripts also run on SiPyCo versions without TLS support)."""
    if not args.ssl:
        return {}
    from sipyco.tools import SimpleSSLConfig
    return {"ssl_config": SimpleSSLConfig(*args.ssl)}


def watch_stdin(on_line=None):
    """Return an asyncio.Event set when stdin reaches EOF. Each stdin line
    (without its newline) is passed to on_line in the event loop."""
    loop = asyncio.get_running_loop()
    eof = asyncio.Event()

    def call(fn, *a):
        try:
            loop.call_soon_threadsafe(fn, *a)
        except RuntimeError:  # loop already closed: we are exiting anyway
            pass

    def reader():
        for line in sys.stdin:
            if on_line is not None:
                call(on_line, line.rstrip("\r\n"))
        call(eof.set)

    threading.Thread(target=reader, daemon=True).start()
    return eof


def type_name(v):
    t = type(v)
    if t.__module__ in ("builtins", None):
        return t.__qualname__
    return t.__module__ + "." + t.__qualname__


def to_json(v):
    """A lossy JSON view of a PYON value, for easy assertions in Go:
    tuple/set/frozenset -> list (sets sorted by repr), dict with non-string
    keys -> object keyed by repr(key), bytes -> base64 string, complex ->
    [re, im], Fraction -> "n/d", slice -> [start, stop, step], numpy values
    -> their Python equivalents, inf/nan -> "Infinity"/"-Infinity"/"NaN"."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numpy.ndarray):
        return to_json(v.tolist())
    if isinstance(v, numpy.generic):
        return to_json(v.item())
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return float(v)
    if isinstance(v, complex):
        return [to_json(v.real), to_json(v.imag)]
    if isinstance(v, Fraction):
        return "{}/{}".format(v.numerator, v.denominator)
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, slice):
        return [to_json(v.start), to_json(v.stop), to_json(v.step)]
    if isinstance(v, (set, frozenset)):
        return [to_json(x) for x in sorted(v, key=repr)]
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else repr(k)): to_json(x)
                for k, x in v.items()}
    return repr(v)


def describe(v):
    """{"type", "repr", "json", "pyon"}: the Python type name, repr, the
    lossy JSON view and the exact PYON v2 text (null if not encodable)."""
    try:
        p = pyon.encode(v)
    except Exception:
        p = None
    d = {"type": type_name(v), "repr": repr(v), "json": to_json(v), "pyon": p}
    if isinstance(v, (numpy.ndarray, numpy.generic)):
        d["dtype"] = v.dtype.str
        d["shape"] = list(numpy.shape(v))
    return d


def strict_equal(a, b):
    """Equal values of identical types all the way down (1 != 1.0 != True,
    tuple != list), NaN equal to NaN, numpy dtype and shape compared."""
    if type(a) is not type(b):
        return False
    if isinstance(a, numpy.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, numpy.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, complex):
        return strict_equal(a.real, b.real) and strict_equal(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (set, frozenset)):
        return len(a) == len(b) and all(
            any(strict_equal(x, y) for y in b) for x in a)
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        if isinstance(a, OrderedDict) and list(map(repr, a)) != list(map(repr, b)):
            return False
        for k, x in a.items():
            match = [kb for kb in b if strict_equal(k, kb)]
            if len(match) != 1 or not strict_equal(x, b[match[0]]):
                return False
        return True
    if isinstance(a, slice):
        return (strict_equal(a.start, b.start) and strict_equal(a.stop, b.stop)
                and strict_equal(a.step, b.step))
    return a == b
