"""PYON v2: the JSON dialect SiPyCo's pc_rpc speaks (docs/sipyco.md).

JSON plus ``{"__jsonclass__": [name, args]}`` objects for the Python types
JSON lacks (tuple, set, bytes, complex, Fraction, slice, dicts with other
than string keys, numpy arrays and scalars), plus the bare tokens ``NaN``,
``Infinity`` and ``-Infinity``. Written from the specification in
docs/sipyco.md and the recordings in ../shared/sipyco-wire, standard
library only; numpy values are encoded when numpy is imported by the
program, and decoded into numpy when it can be imported, else into
:class:`NDArray` / :class:`NPScalar`, which encode back unchanged.
"""

import base64
import json
import math
import sys
from collections import OrderedDict
from fractions import Fraction

__all__ = ["encode", "decode", "Raw", "NDArray", "NPScalar", "EncodeError", "DecodeError"]

_str = json.encoder.encode_basestring_ascii  # what json.dumps uses by default (C)


class EncodeError(TypeError):
    """A value that PYON v2 cannot carry."""


class DecodeError(ValueError):
    """Text that is not PYON v2."""


class Raw:
    """Text that is already PYON: written as is by :func:`encode`."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return "Raw(%r)" % self.text


class NDArray:
    """A numpy array received without numpy: its shape, numpy's dtype
    string (``"<f8"``) and raw C-order bytes. Encodes back unchanged."""

    __slots__ = ("shape", "dtype", "data")

    def __init__(self, shape, dtype, data):
        self.shape, self.dtype, self.data = tuple(shape), dtype, bytes(data)

    def __eq__(self, other):
        return isinstance(other, NDArray) and (self.shape, self.dtype, self.data) == (other.shape, other.dtype, other.data)

    def __repr__(self):
        return "NDArray(shape=%r, dtype=%r, %d bytes)" % (self.shape, self.dtype, len(self.data))


class NPScalar:
    """A numpy scalar received without numpy: dtype string and raw bytes."""

    __slots__ = ("dtype", "data")

    def __init__(self, dtype, data):
        self.dtype, self.data = dtype, bytes(data)

    def __eq__(self, other):
        return isinstance(other, NPScalar) and (self.dtype, self.data) == (other.dtype, other.data)

    def __repr__(self):
        return "NPScalar(%r, %r)" % (self.dtype, self.data)


def _float(f):
    if f != f:
        return "NaN"
    if f == math.inf:
        return "Infinity"
    if f == -math.inf:
        return "-Infinity"
    return repr(f)


def _b64(b):
    return base64.b64encode(b).decode("ascii")


def _cls(name, args, out, depth):
    out.append('{"__jsonclass__":["' + name + '",')
    _enc(args, out, depth)
    out.append("]}")


def _numpy():
    return sys.modules.get("numpy")  # encode numpy values only if the program imported numpy


def _enc(v, out, depth):
    if depth > 10000:
        raise EncodeError("pyon: value nested over 10000 levels (a cycle?)")
    t = type(v)
    if v is None:
        out.append("null")
    elif t is bool:
        out.append("true" if v else "false")
    elif t is int:
        out.append(str(v))
    elif t is float:
        out.append(_float(v))
    elif t is str:
        out.append(_str(v))
    elif t is Raw:
        out.append(v.text)
    elif t is list:
        _seq(v, out, depth)
    elif t is dict or t is OrderedDict:  # SiPyCo writes an OrderedDict as a dict
        _dict(v, out, depth)
    elif t is tuple:
        out.append('{"__jsonclass__":["tuple",[')
        _seq(v, out, depth)
        out.append("]]}")
    elif t is set or t is frozenset:
        out.append('{"__jsonclass__":["set",[')
        _seq(list(v), out, depth)
        out.append("]]}")
    elif t is bytes or t is bytearray or t is memoryview:
        out.append('{"__jsonclass__":["bytes",["' + _b64(bytes(v)) + '"]]}')
    elif t is complex:
        out.append('{"__jsonclass__":["complex",[' + _float(v.real) + "," + _float(v.imag) + "]]}")
    elif t is Fraction:
        out.append('{"__jsonclass__":["Fraction",[%d,%d]]}' % (v.numerator, v.denominator))
    elif t is slice:
        _cls("slice", [v.start, v.stop, v.step], out, depth + 1)
    elif t is NDArray:
        out.append('{"__jsonclass__":["nparray",[')
        _seq(list(v.shape), out, depth)
        out.append("," + _str(v.dtype) + ',"' + _b64(v.data) + '"]]}')
    elif t is NPScalar:
        out.append('{"__jsonclass__":["npscalar",[' + _str(v.dtype) + ',"' + _b64(v.data) + '"]]}')
    else:
        _other(v, out, depth)


def _other(v, out, depth):
    np = _numpy()
    if np is not None and isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise EncodeError("pyon: numpy arrays of objects cannot be sent")
        a = v if v.flags.c_contiguous else v.copy(order="C")  # not ascontiguousarray: it makes a 0-d array 1-d
        out.append('{"__jsonclass__":["nparray",[')
        _seq(list(a.shape), out, depth)
        out.append("," + _str(a.dtype.str) + ',"' + _b64(a.tobytes()) + '"]]}')
    elif np is not None and isinstance(v, np.generic):
        if v.dtype.hasobject:
            raise EncodeError("pyon: numpy object scalars cannot be sent")
        out.append('{"__jsonclass__":["npscalar",[' + _str(v.dtype.str) + ',"' + _b64(v.tobytes()) + '"]]}')
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, int):
        out.append(int.__repr__(v))  # IntEnum and other int subclasses, as json does
    elif isinstance(v, float):
        out.append(_float(float(v)))
    elif isinstance(v, str):
        out.append(_str(str(v)))
    elif isinstance(v, dict):
        _dict(v, out, depth)
    elif isinstance(v, (list, tuple)):
        _enc(tuple(v) if isinstance(v, tuple) else list(v), out, depth)
    else:
        raise EncodeError("pyon: cannot send a value of type %s: %r" % (type(v).__name__, _short(v)))


def _short(v):
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _seq(v, out, depth):
    out.append("[")
    first = True
    for x in v:
        if not first:
            out.append(",")
        first = False
        _enc(x, out, depth + 1)
    out.append("]")


def _hashable_key(k):
    if isinstance(k, (list, dict, set, bytearray)):
        raise EncodeError("pyon: a %s cannot be a dict key" % type(k).__name__)


def _dict(d, out, depth):
    if all(type(k) is str for k in d):
        if "__jsonclass__" in d:
            raise EncodeError('pyon: "__jsonclass__" cannot be a dict key')
        out.append("{")
        first = True
        for k, x in d.items():
            if not first:
                out.append(",")
            first = False
            out.append(_str(k) + ":")
            _enc(x, out, depth + 1)
        out.append("}")
        return
    out.append('{"__jsonclass__":["dict",[[')
    first = True
    for k, x in d.items():
        _hashable_key(k)
        if k == "__jsonclass__":
            raise EncodeError('pyon: "__jsonclass__" cannot be a dict key')
        if not first:
            out.append(",")
        first = False
        out.append("[")
        _enc(k, out, depth + 1)
        out.append(",")
        _enc(x, out, depth + 1)
        out.append("]")
    out.append("]]]}")


def encode(v):
    """Return the PYON v2 text of v (one line: no newline inside).

    Raises EncodeError (a TypeError) for values PYON cannot carry.
    """
    out = []
    _enc(v, out, 0)
    return "".join(out)


def _ndarray(args):
    shape, dtype, data = args
    raw = _unb64(data)
    try:
        import numpy
    except ImportError:
        return NDArray(shape, dtype, raw)
    dt = numpy.dtype(dtype)
    if dt.hasobject:
        raise DecodeError("pyon: object arrays are refused")
    return numpy.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _npscalar(args):
    dtype, data = args
    raw = _unb64(data)
    try:
        import numpy
    except ImportError:
        return NPScalar(dtype, raw)
    return numpy.frombuffer(raw, dtype=numpy.dtype(dtype))[0]


def _unb64(s):
    try:
        return base64.b64decode(s, validate=True)
    except (ValueError, TypeError) as e:
        raise DecodeError("pyon: bad base64: %s" % e) from None


def _pairs(args, cls):
    items = args[0] if args else []
    try:
        return cls((k, v) for k, v in items)
    except TypeError as e:
        raise DecodeError("pyon: bad dict: %s" % e) from None


_classes = {
    "tuple": lambda a: tuple(a[0]) if a else (),
    "set": lambda a: set(a[0]) if a else set(),
    "frozenset": lambda a: frozenset(a[0]) if a else frozenset(),
    "bytes": lambda a: _unb64(a[0]),
    "complex": lambda a: complex(*a),
    "Fraction": lambda a: Fraction(*a),
    "slice": lambda a: slice(*a),
    "dict": lambda a: _pairs(a, dict),
    "OrderedDict": lambda a: _pairs(a, OrderedDict),
    "nparray": _ndarray,
    "npscalar": _npscalar,
}


def _hook(d):
    if "__jsonclass__" not in d:
        return d
    if len(d) != 1:
        raise DecodeError("pyon: an object with __jsonclass__ and other keys")
    try:
        name, args = d["__jsonclass__"]
    except (TypeError, ValueError):
        raise DecodeError("pyon: malformed __jsonclass__") from None
    f = _classes.get(name)
    if f is None:
        raise DecodeError("pyon: unknown __jsonclass__ %r" % (name,))
    try:
        return f(args)
    except DecodeError:
        raise
    except (TypeError, ValueError, IndexError) as e:
        raise DecodeError("pyon: bad arguments of %s: %s" % (name, e)) from None


def decode(text):
    """Return the value of a PYON v2 document (str or bytes).

    Raises DecodeError (a ValueError) for text that is not PYON v2.
    """
    try:
        return json.loads(text, object_hook=_hook)
    except DecodeError:
        raise
    except (ValueError, TypeError, RecursionError) as e:
        raise DecodeError("pyon: %s" % e) from None
