"""Captures real sipyco_rpctool output into rpctool/testdata/sipyco_rpctool.jsonl.

Run from the repository root with a SiPyCo tree of your own (never
committed) and numpy:

    SIGOCO_SIPYCO_PATH=/path/to/sipyco python3 rpctool/testdata/capture_sipyco_rpctool.py \
        rpctool/testdata/sipyco_rpctool.jsonl

It serves the values below from a SiPyCo pc_rpc Server, runs sipyco_rpctool
(call, list-methods, list-targets) against it, and writes one JSON object per
line: {"case", "args" (sipyco_rpctool's arguments after HOST PORT), "reply"
(the PYON v2 reply line SiPyCo's server sends, null for list-targets),
"stdout", "exit"}. rpctool's tests replay "reply" from a fake SiPyCo server
and compare rpctool --sipyco-format's output with "stdout".
"""
import sys, os, json, subprocess, threading
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "internal", "sipycotest", "scripts")
SIPYCO = os.environ["SIGOCO_SIPYCO_PATH"]
sys.path[:0] = [SCRIPTS, SIPYCO]
import sipycotest_compat
import numpy as np
from fractions import Fraction
from collections import OrderedDict
from sipyco import pyon
from sipyco.pc_rpc import Server
import asyncio

VALUES = {
    "int": 42, "int_neg": -7, "int_big": 2**100, "bool": True, "float": 2.5, "float_one": 1.0,
    "float_1e16": 1e16, "float_1e-05": 1e-05, "float_nan": float("nan"), "float_inf": float("-inf"),
    "complex": 1 + 2j, "str": "it's", "str_quotes": "say \"hi\" it's", "str_unicode": "h\u00e9llo \u2603",
    "str_long": "word " * 30, "bytes": b"\x00\xffab'", "bytes_long": bytes(range(60)),
    "list": [1, "two", 3.0, None], "list_long": list(range(40)), "list_nested_long": [[i, str(i) * 5] for i in range(12)],
    "tuple": (1, 2), "tuple_one": (10,), "tuple_empty": (), "list_empty": [], "dict_empty": {},
    "dict": {"zeta": 1, "alpha": [1, 2], "mid": {"x": 1}}, "dict_int_keys": {3: "c", 1: "a", 2: "b"},
    "dict_mixed_keys": {1: "a", 2.5: "b", 0: "z"}, "dict_tuple_keys": {(2, 1): "b", (1, 2): "a"},
    "dict_long": {"key%02d" % i: [i, i * 1.5, "v" * i] for i in range(8)},
    "list_of_dicts": [{"name": "ch%d" % i, "freq": 1e6 * i, "on": i % 2 == 0} for i in range(5)],
    "set_int": {3, 1, 2}, "set_empty": set(), "set_long": set(range(0, 200, 7)),
    "fraction": Fraction(1, 3), "slice": slice(1, None, 2),
    "arr_int": np.array([1, -2, 300]), "arr_float": np.array([1.0, 2.5, -3.25]), "arr_float_int": np.array([1.0, 2.0]),
    "arr_float_special": np.array([1.0, np.inf, np.nan]), "arr_2d": np.array([[1.0, 2.0], [3.0, 4.5]]),
    "arr_2d_int": np.arange(12).reshape(3, 4), "arr_bool": np.array([True, False]), "arr_0d": np.array(5),
    "arr_empty": np.zeros(0), "arr_long": np.arange(30, dtype=np.int32), "arr_float_long": np.linspace(0, 1, 11),
    "arr_small": np.array([1e-10, 1.0]), "arr_big": np.array([1e10, 1.0]),
    "arr_uint8": np.array([0, 255], dtype=np.uint8), "arr_f4": np.array([0.1, 2], dtype=np.float32),
    "arr_complex": np.array([1 + 2j, -1j]), "arr_str": np.array(["a", "bc"]), "arr_bytes": np.array([b"ab", b"c"]),
    "np_int32": np.int32(7), "np_float32": np.float32(0.5), "np_float64": np.float64(2.5), "np_bool": np.bool_(True),
    "np_uint64": np.uint64(2**64 - 1), "np_datetime64": np.datetime64(0, "s"), "np_timedelta64": np.timedelta64(5, "ms"),
    "ordered_dict": OrderedDict([("b", 1), ("a", 2)]),
    "nested_mix": {"arr": np.array([1, 2]), "t": (np.int32(1), Fraction(1, 2)), "s": {4, 5}, 1: b"x"},
}

class Target:
    """Capture target.

    Second paragraph."""
    def get(self, name):
        """Return the value called name."""
        return VALUES[name]
    def add(self, a, b=1, *, scale=1.5):
        return (a + b) * scale
    def nothing(self):
        pass
    def annotated(self, x: float, y: int = 3, *, f: bytes = b"\x00") -> str:
        """Annotated.
        Two lines."""
        return ""

def serve(port_holder, ready):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = Server({"t": Target()}, "capture server", builtin_terminate=True)
    loop.run_until_complete(server.start("127.0.0.1", 0))
    port_holder.append(server.server.sockets[0].getsockname()[1])
    ready.set()
    loop.run_until_complete(server.wait_terminate())
    loop.run_until_complete(server.stop())

port = []
ready = threading.Event()
th = threading.Thread(target=serve, args=(port, ready), daemon=True)
th.start()
ready.wait()
port = str(port[0])
env = dict(os.environ, PYTHONPATH=SCRIPTS + os.pathsep + SIPYCO, PYTHONHASHSEED="0")
tool = [sys.executable, "-c", "import sipycotest_compat, sys; from sipyco.sipyco_rpctool import main; sys.argv[0]='sipyco_rpctool'; main()"]

def run(args):
    p = subprocess.run(tool + ["127.0.0.1", port] + args, env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout

out = open(sys.argv[1], "w")
t = Target()
versions = {"numpy": np.__version__, "python": sys.version.split()[0]}
out.write(json.dumps({"case": "_versions", "args": [], "reply": None, "stdout": json.dumps(versions), "exit": 0}) + "\n")
for name, v in VALUES.items():
    code, stdout = run(["call", "-t", "t", "get", repr(name)])
    reply = pyon.encode({"status": "ok", "ret": v})
    out.write(json.dumps({"case": name, "args": ["call", "-t", "t", "get", repr(name)], "reply": reply, "stdout": stdout, "exit": code}) + "\n")
from sipyco.pc_rpc import Client
c = Client("127.0.0.1", int(port), "t")
ml = c.get_rpc_method_list()
c.close_rpc()
for case, args, reply in [
    ("list_methods", ["list-methods", "-t", "t"], pyon.encode({"status": "ok", "ret": ml})),
    ("list_targets", ["list-targets"], None),
    ("call_none", ["call", "-t", "t", "nothing"], pyon.encode({"status": "ok", "ret": None})),
    ("call_add", ["call", "-t", "t", "add", "1", "2"], pyon.encode({"status": "ok", "ret": 4.5})),
]:
    code, stdout = run(args)
    out.write(json.dumps({"case": case, "args": args, "reply": reply, "stdout": stdout, "exit": code}) + "\n")
out.close()
run(["call", "-t", "t", "terminate"])
