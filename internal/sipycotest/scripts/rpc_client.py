"""Runs SiPyCo's RPC clients through the recorded call sequence and prints
one JSON summary line.

usage: rpc_client.py HOST PORT TARGET [--client sync|async|besteffort]
                     [--only STEP,...] [--terminate] [--timeout 10]
                     [--ssl CERT KEY PEER]

TARGET "-" selects sipyco.pc_rpc.AutoTarget. --client picks Client (sync,
default), AsyncioClient (async) or BestEffortClient (besteffort). Each step
is one call, and its outcome is checked against what SiPyCo's own server
(rpc_server.py) answers; a failed step does not stop the others. Steps, in
order: get_rpc_method_list (sync only: the other clients lack it),
set_attenuation, get_attenuation, add, add_kw, add_default,
echo:<value>... (echo:recorded is the recorded call; every PYON type, numpy
arrays and scalars follow), echo_kwarg, slow, fail, fail_custom, bad_args,
no_such_method, and terminate with --terminate.

Output (one line): {"client", "targets", "description", "selected_target",
"signatures": {method: "(self, a, b=1, *, scale=1)"}, "steps": [names],
"results": {name: RESULT}, "failed_steps": [names]} where RESULT is
{"call": "add(1, b=2, scale=3)", "ok": true, "ret": DESCRIBED, "pass": bool,
"expected": DESCRIBED (echo only)} or {"call", "ok": false, "pass",
"exception": {"class", "message", "traceback" (remote list or null),
"remote": bool}}. DESCRIBED is {"type", "repr", "json", "pyon"} (see
sipycotest_common.describe). Exit status 0 even when steps fail; 1 when the
connection itself fails.
"""

import sipycotest_common as common

import argparse
import asyncio
import math
import sys
from collections import OrderedDict
from fractions import Fraction

import numpy as np

from sipyco import pyon
from sipyco.pc_rpc import AsyncioClient, AutoTarget, BestEffortClient, Client

try:
    from sipyco.arguments import formatargspec
except ImportError:  # older SiPyCo
    formatargspec = None

# The recorded echo argument: every PYON type in one list.
RECORDED = [1, 2.5, None, True, False, "ab\nx\"'", {"a": 5, 2: "int key"},
            (4, 5), (10,), {1, 2}, b"\x00\xffbytes", 1 + 2j, Fraction(1, 3),
            {"z": 1, "a": 2}, 2**70, -7, 1e300, math.inf]

ECHO_VALUES = [
    ("recorded", RECORDED),
    ("ndarray_f8_2x2", np.array([[1.0, 2.0], [3.0, 4.0]])),
    ("npscalar_i4", np.int32(7)),
    ("int", 42),
    ("int_negative", -7),
    ("int_big", 2**70),
    ("int_big_negative", -2**64),
    ("float", 2.5),
    ("float_large", 1e300),
    ("float_inf", math.inf),
    ("float_neg_inf", -math.inf),
    ("float_nan", math.nan),
    ("none", None),
    ("true", True),
    ("false", False),
    ("str", "ab\nx\"'"),
    ("str_unicode", "\u00b5s \u2713 \U0001f600"),
    ("list_empty", []),
    ("list", [1, "a", None, [2.5]]),
    ("dict", {"z": 1, "a": 2}),
    ("dict_empty", {}),
    ("dict_nonstr_keys", {"a": 5, 2: "int key"}),
    ("dict_tuple_key", {(1, 2): "t", None: 0, 1.5: True}),
    ("tuple", (4, 5)),
    ("tuple_1", (10,)),
    ("tuple_empty", ()),
    ("set", {1, 2}),
    ("set_empty", set()),
    ("bytes", b"\x00\xffbytes"),
    ("bytes_empty", b""),
    ("complex", 1 + 2j),
    ("fraction", Fraction(1, 3)),
    ("ordereddict", OrderedDict([("b", 1), ("a", 2)])),
    ("slice", slice(1, 10, 2)),
    ("nested", {"runs": [{"p": (1, 2.5), "s": {3}}]}),
    ("ndarray_i8", np.arange(5, dtype=np.int64)),
    ("ndarray_f4", np.array([0.5, -1.5], dtype=np.float32)),
    ("ndarray_bool", np.array([True, False])),
    ("ndarray_c16", np.array([1 + 2j, -3j])),
    ("ndarray_u1_3d", np.arange(24, dtype=np.uint8).reshape(2, 3, 4)),
    ("ndarray_empty", np.zeros(0)),
    ("ndarray_i4_big_endian", np.array([1, 2], dtype=">i4")),
    ("npscalar_f4", np.float32(1.5)),
    ("npscalar_i8", np.int64(-3)),
    ("npscalar_u8", np.uint64(2**63)),
    ("npscalar_bool", np.bool_(True)),
    ("npscalar_c16", np.complex128(1 + 2j)),
]

METHODS = {"set_attenuation", "get_attenuation", "echo", "add", "fail",
           "fail_custom", "slow"}


def returns(value):
    return lambda ok, v: ok and common.strict_equal(v, value)


def raises(cls, text=None):
    def check(ok, e):
        return (not ok and type(e).__name__ == cls
                and (text is None or text in str(e)))
    return check


def method_list_ok(ok, doc):
    if not ok or not isinstance(doc, dict):
        return False
    methods = doc.get("methods", {})
    if not METHODS <= set(methods):
        return False
    if formatargspec is not None:
        return signature(methods["add"][0]) == "(self, a, b=1, *, scale=1)"
    return True


def signature(argspec):
    return formatargspec(**argspec)


def steps(client_kind, terminate):
    """(name, method, args, kwargs, check, expected) in call order."""
    s = []
    if client_kind == "sync":
        s.append(("get_rpc_method_list", "get_rpc_method_list", (), {},
                  method_list_ok, None))
    s += [
        ("set_attenuation", "set_attenuation", (5.5,), {}, returns(None), None),
        ("get_attenuation", "get_attenuation", (), {}, returns(5.5), None),
        ("add", "add", (1, 2), {}, returns(3), None),
        ("add_kw", "add", (1,), {"b": 2, "scale": 3}, returns(9), None),
        ("add_default", "add", (4,), {}, returns(5), None),
    ]
    for name, value in ECHO_VALUES:
        # A perfect server returns what a PYON round trip gives (SiPyCo's
        # own turns e.g. numpy.float64 into float).
        expected = pyon.decode(pyon.encode(value))
        s.append(("echo:" + name, "echo", (value,), {}, returns(expected),
                  expected))
    s += [
        ("echo_kwarg", "echo", (), {"x": (1, "a")}, returns((1, "a")), None),
        ("slow", "slow", (0.01,), {}, returns(0.01), None),
        ("fail", "fail", (), {},
         raises("ValueError", "attenuation out of range"), None),
        ("fail_custom", "fail_custom", (), {},
         raises("GenericRemoteException", "device not responding"), None),
        ("bad_args", "add", (), {}, raises("TypeError"), None),
        ("no_such_method", "no_such_method", (), {},
         raises("AttributeError"), None),
    ]
    if terminate:
        s.append(("terminate", "terminate", (), {}, returns(None), None))
    return s


def call_text(method, args, kwargs):
    parts = [repr(a) for a in args]
    parts += ["{}={!r}".format(k, v) for k, v in kwargs.items()]
    return "{}({})".format(method, ", ".join(parts))


def outcome(name, method, args, kwargs, check, expected, ok, value):
    try:
        passed = bool(check(ok, value))
    except Exception:  # e.g. a method list of the wrong shape
        passed = False
    r = {"call": call_text(method, args, kwargs), "ok": ok, "pass": passed}
    if ok:
        r["ret"] = common.describe(value)
        if name.startswith("echo:"):
            r["expected"] = common.describe(expected)
    else:
        tb = getattr(value, "parent_traceback", None)
        r["exception"] = {"class": type(value).__name__, "message": str(value),
                          "traceback": tb, "remote": tb is not None}
    return r


def summary(kind, rpc_id, selected, results, order):
    out = {"client": kind, "targets": None, "description": None,
           "selected_target": selected, "signatures": {}, "steps": order,
           "results": results,
           "failed_steps": [n for n in order if not results[n]["pass"]]}
    if rpc_id is not None:
        out["targets"], out["description"] = rpc_id[0], rpc_id[1]
    ml = results.get("get_rpc_method_list")
    if ml is not None and ml["ok"] and formatargspec is not None:
        try:
            methods = pyon.decode(ml["ret"]["pyon"]).get("methods", {})
        except Exception:
            methods = {}
        for m, entry in methods.items():
            try:
                out["signatures"][m] = signature(entry[0])
            except Exception as e:
                out["signatures"][m] = "unformattable: {!r}".format(e)
    return out


def target_arg(t):
    return AutoTarget if t == "-" else t


def run_sync(args, kind):
    t = target_arg(args.target)
    if kind == "sync":
        c = Client(args.host, args.port, t, timeout=args.timeout,
                   **common.ssl_kwargs(args))
    else:
        c = BestEffortClient(args.host, args.port, t,
                             firstcon_timeout=args.timeout, retry=0.1,
                             **common.ssl_kwargs(args))
    try:
        rpc_id = c.get_rpc_id() if kind == "sync" else None
        selected = c.get_selected_target() if kind == "sync" else None
        results, order = {}, []
        for st in selected_steps(args, kind):
            name, method, cargs, ckwargs = st[:4]
            try:
                ok, v = True, getattr(c, method)(*cargs, **ckwargs)
            except Exception as e:
                ok, v = False, e
            results[name] = outcome(*st, ok, v)
            order.append(name)
        return summary(kind, rpc_id, selected, results, order)
    finally:
        c.close_rpc()


async def run_async(args):
    c = AsyncioClient()
    await asyncio.wait_for(
        c.connect_rpc(args.host, args.port, target_arg(args.target),
                      **common.ssl_kwargs(args)), args.timeout)
    try:
        results, order = {}, []
        for st in selected_steps(args, "async"):
            name, method, cargs, ckwargs = st[:4]
            try:
                v = await asyncio.wait_for(
                    getattr(c, method)(*cargs, **ckwargs), args.timeout)
                ok = True
            except Exception as e:
                ok, v = False, e
            results[name] = outcome(*st, ok, v)
            order.append(name)
        return summary("async", c.get_rpc_id(), c.get_selected_target(),
                       results, order)
    finally:
        await c.close_rpc()


def selected_steps(args, kind):
    all_steps = steps(kind, args.terminate)
    if not args.only:
        return all_steps
    only = set(args.only.split(","))
    only.add("terminate")  # --terminate asks for it anyway
    return [s for s in all_steps
            if s[0] in only or (s[0].startswith("echo:") and "echo" in only)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("target", help='target name, or "-" for AutoTarget')
    p.add_argument("--client", choices=["sync", "async", "besteffort"],
                   default="sync")
    p.add_argument("--only", help="comma-separated step names to run "
                   '("echo" selects every echo:* step)')
    p.add_argument("--terminate", action="store_true",
                   help="end with the builtin terminate() call")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds for connecting and for each call")
    common.add_ssl_argument(p)
    args = p.parse_args()
    if args.client == "async":
        out = asyncio.run(run_async(args))
    else:
        out = run_sync(args, args.client)
    common.emit(out)


if __name__ == "__main__":
    main()
