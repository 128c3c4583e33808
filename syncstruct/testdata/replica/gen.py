"""Generates cases.json: shared mod sequences (initial tree, mods, expected
tree) applied by syncstruct's Go test (Apply) and by web/replica.test.js.

Non-numpy expectations are computed here by Python itself, applying each
mod as SiPyCo's process_mod does; numpy arrays are modelled with struct
(flat C-order data), so numpy need not be installed. Run:
    python3 gen.py > cases.json
"""
import base64, copy, json, struct
from fractions import Fraction


class NP:
    """A numpy array as PYON carries it: shape, dtype, flat C-order values."""
    def __init__(self, shape, dtype, vals):
        self.shape, self.dtype, self.vals = shape, dtype, list(vals)

    def enc(self):
        fmt = {"<f8": "d", "<i4": "i", "<i8": "q", "|b1": "?", "<u1": "B", "<f4": "f"}[self.dtype]
        data = struct.pack("<%d%s" % (len(self.vals), fmt), *self.vals)
        return {"__jsonclass__": ["nparray", [self.shape, self.dtype, base64.b64encode(data).decode()]]}


class NPS:
    def __init__(self, dtype, v):
        self.dtype, self.v = dtype, v

    def __index__(self):
        return self.v

    def __hash__(self):
        return hash(self.v)

    def __eq__(self, o):
        return self.v == (o.v if isinstance(o, NPS) else o)

    def enc(self):
        fmt = {"<i8": "q", "<i4": "i"}[self.dtype]
        return {"__jsonclass__": ["npscalar", [self.dtype, base64.b64encode(struct.pack("<" + fmt, self.v)).decode()]]}


def enc(v):
    if isinstance(v, (NP, NPS)):
        return v.enc()
    if isinstance(v, bool) or v is None or isinstance(v, (int, float, str)):
        return v
    if isinstance(v, list):
        return [enc(e) for e in v]
    if isinstance(v, tuple):
        return {"__jsonclass__": ["tuple", [[enc(e) for e in v]]]}
    if isinstance(v, slice):
        return {"__jsonclass__": ["slice", [enc(v.start), enc(v.stop), enc(v.step)]]}
    if isinstance(v, Fraction):
        return {"__jsonclass__": ["Fraction", [v.numerator, v.denominator]]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {k: enc(e) for k, e in v.items()}
        return {"__jsonclass__": ["dict", [[[enc(k), enc(e)] for k, e in v.items()]]]}
    raise TypeError(type(v))


def process_mod(target, mod):
    # SiPyCo's process_mod (sipyco/sync_struct.py), verbatim in effect.
    for key in mod["path"]:
        target = target[key]
    a = mod["action"]
    if a == "append":
        target.append(mod["x"])
    elif a == "insert":
        target.insert(mod["i"], mod["x"])
    elif a == "pop":
        target.pop(mod["i"])
    elif a == "setitem":
        target[mod["key"]] = mod["value"]
    elif a == "delitem":
        del target[mod["key"]]


def case(name, init, mods, want=None, error=False):
    out = {"name": name, "init": enc(init), "mods": [enc(m) for m in mods]}
    if error:
        out["error"] = True
        out["want"] = enc(init)
        return out
    if want is None:
        t = copy.deepcopy(init)
        for m in mods:
            process_mod(t, m)
        want = t
    out["want"] = enc(want)
    return out


def mod(action, path, **kw):
    m = {"action": action, "path": path}
    m.update(kw)
    return m


def failing(init, m):
    try:
        process_mod(copy.deepcopy(init), m)
    except Exception:
        return True
    return False


cases = [
    case("append insert pop", {"l": [1, 2]}, [
        mod("append", ["l"], x=3), mod("insert", ["l"], i=-10, x=0), mod("insert", ["l"], i=99, x=9),
        mod("pop", ["l"], i=-1), mod("pop", ["l"], i=0)]),
    case("setitem delitem dict and list", {"d": {"a": 1}, "l": [1, 2, 3]}, [
        mod("setitem", ["d"], key="b", value={"x": [1]}), mod("setitem", ["d", "b", "x"], key=0, value=5),
        mod("delitem", ["d"], key="a"), mod("setitem", ["l"], key=-1, value=30), mod("delitem", ["l"], key=0)]),
    case("list slice setitem", {"x": [0, 1, 2, 3, 4]}, [mod("setitem", ["x"], key=slice(1, 3), value=["a", "b", "c"])]),
    case("list slice delitem", {"x": [0, 1, 2, 3, 4]}, [mod("delitem", ["x"], key=slice(None, 2))]),
    case("list slice negative bounds", {"x": [0, 1, 2, 3, 4]}, [mod("setitem", ["x"], key=slice(-2, None), value=[]),
                                                               mod("setitem", ["x"], key=slice(-100, 1), value=[7, 8])]),
    case("list slice stop before start inserts", {"x": [0, 1, 2]}, [mod("setitem", ["x"], key=slice(2, 1), value=["i"])]),
    case("list extended slice setitem", {"x": [0, 1, 2, 3, 4]}, [mod("setitem", ["x"], key=slice(0, None, 2), value=[9, 9, 9])]),
    case("list extended slice delitem negative step", {"x": [0, 1, 2, 3, 4, 5]}, [mod("delitem", ["x"], key=slice(None, None, -2))]),
    case("list extended slice size mismatch", {"x": [0, 1, 2, 3, 4]}, [mod("setitem", ["x"], key=slice(0, None, 2), value=[9])], error=True),
    case("dict pop with a key", {"d": {"a": 1, "b": 2}}, [mod("pop", ["d"], i="a")]),
    case("dict pop with an int key", {"d": {1: "one", "b": 2}}, [mod("pop", ["d"], i=1)]),
    case("dict pop missing key", {"d": {"a": 1}}, [mod("pop", ["d"], i="zz")], error=True),
    case("True is key 1", {"d": {1: "one"}}, [mod("setitem", ["d"], key=True, value="T"), mod("setitem", ["d"], key=1.0, value="F")]),
    case("Fraction 1/2 is key 0.5", {"d": {0.5: "h"}}, [mod("setitem", ["d"], key=Fraction(1, 2), value="x")]),
    case("delitem True removes key 1", {"d": {1: "one", 2: "two"}}, [mod("delitem", ["d"], key=True)]),
    case("tuple keys", {"d": {(1, "a"): 0}}, [mod("setitem", ["d"], key=(1, "a"), value=1), mod("setitem", ["d"], key=(True, "a"), value=2)]),
    case("numpy int as list index and path", {"l": [[10], [20], [30]]}, [
        mod("setitem", ["l"], key=NPS("<i8", 1), value=99), mod("append", ["l", NPS("<i4", -1)], x=31)]),
    case("numpy scalar dict key", {"d": {NPS("<i8", 3): "three"}}, [mod("setitem", ["d"], key=3, value="THREE")],
         want={"d": {NPS("<i8", 3): "THREE"}}),
    case("bool list index", {"l": [0, 1]}, [mod("setitem", ["l"], key=True, value=5)]),
    case("numpy setitem scalar", {"a": NP([3], "<f8", [0, 0, 0])}, [mod("setitem", ["a"], key=1, value=2.5),
                                                                   mod("setitem", ["a"], key=-1, value=7)],
         want={"a": NP([3], "<f8", [0, 2.5, 7])}),
    case("numpy setitem slice like mutate_dataset", {"ds": {"value": NP([5], "<i8", [0] * 5)}},
         [mod("setitem", ["ds", "value"], key=slice(1, 4), value=NP([3], "<i8", [1, 2, 3]))],
         want={"ds": {"value": NP([5], "<i8", [0, 1, 2, 3, 0])}}),
    case("numpy setitem 2D row and element", {"a": NP([2, 3], "<i4", [0] * 6)},
         [mod("setitem", ["a"], key=0, value=7), mod("setitem", ["a"], key=(1, slice(None, None, 2)), value=[4, 5]),
          mod("setitem", ["a"], key=(1, 1), value=2.9)],
         want={"a": NP([2, 3], "<i4", [7, 7, 7, 4, 2, 5])}),
    case("numpy setitem index out of range", {"a": NP([2], "<f8", [0, 0])}, [mod("setitem", ["a"], key=2, value=1.0)], error=True),
    case("numpy bool array", {"a": NP([2], "|b1", [False, False])}, [mod("setitem", ["a"], key=0, value=1)],
         want={"a": NP([2], "|b1", [True, False])}),
]
for c in cases:
    if c.get("error"):
        continue
print(json.dumps(cases, indent=1))
