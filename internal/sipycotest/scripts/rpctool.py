"""Runs SiPyCo's own command-line tool, sipyco_rpctool, unchanged.

usage: rpctool.py SERVER PORT [--ssl CERT KEY PEER] ACTION ...
  rpctool.py 127.0.0.1 3249 list-targets
  rpctool.py 127.0.0.1 3249 list-methods [-t TARGET]
  rpctool.py 127.0.0.1 3249 call [-t TARGET] METHOD [ARGS...]

Same as "python3 -m sipyco.sipyco_rpctool ARGS..." (same stdout, stderr and
exit status), after the numpy compatibility alias of sipycotest_compat.
ARGS of call are Python expressions (sipyco_rpctool evals them; np is numpy).
"""

import sipycotest_compat  # noqa: F401 -- must precede every sipyco import

import runpy
import sys

sys.argv[0] = "sipyco_rpctool"
runpy.run_module("sipyco.sipyco_rpctool", run_name="__main__", alter_sys=True)
