"""Lets current SiPyCo run on older numpy. Imported before any sipyco module.

SiPyCo's pyon (since m-labs/sipyco f465349) tests
``isinstance(x.dtype, numpy.dtypes.ObjectDType)`` before encoding an array,
but ``numpy.dtypes`` only exists from numpy 1.25; Debian 12 ships 1.24, where
every ndarray encode then fails with AttributeError. On such numpy we alias
the one class SiPyCo uses (``type(numpy.dtype(object))`` is that class on
every numpy since 1.20). Newer numpy is left alone, and no SiPyCo code is
changed.
"""

import types

import numpy

NUMPY_DTYPES_SHIM = False

if not hasattr(numpy, "dtypes"):
    numpy.dtypes = types.SimpleNamespace(ObjectDType=type(numpy.dtype(object)))
    NUMPY_DTYPES_SHIM = True
