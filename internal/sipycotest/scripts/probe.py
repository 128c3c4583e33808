"""Checks that this interpreter can run the integration scripts: imports
SiPyCo's pc_rpc, sync_struct and logging modules and round-trips a numpy
array through PYON. Prints one JSON object describing what it found."""

import sipycotest_compat

import json
import os
import sys

import numpy
import sipyco
import sipyco.pc_rpc  # noqa: F401
import sipyco.sync_struct  # noqa: F401
from sipyco import pyon

try:
    import sipyco.logs  # noqa: F401
except ImportError:  # SiPyCo before the logging_tools -> logs rename
    import sipyco.logging_tools  # noqa: F401

a = numpy.array([[1.0, 2.0], [3.0, 4.0]])
if not (pyon.decode(pyon.encode(a)) == a).all():
    sys.exit("PYON round trip of a numpy array failed")

print(json.dumps({
    "python": sys.version.split()[0],
    "numpy": numpy.__version__,
    "sipyco": os.path.dirname(os.path.abspath(sipyco.__file__)),
    "numpy_dtypes_shim": sipycotest_compat.NUMPY_DTYPES_SHIM,
}))
