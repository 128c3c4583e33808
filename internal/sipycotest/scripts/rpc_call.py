"""Calls methods of a pc_rpc target with SiPyCo's Client and prints one
JSON line per call.

usage: rpc_call.py HOST PORT TARGET CALL... [--ssl CERT KEY PEER]

Each CALL is a JSON list [METHOD, [ARGS...]] (plain JSON values). Prints,
per call, {"method": M, "ok": true, "ret": VALUE} (VALUE as
sipycotest_common.to_json) or {"method": M, "ok": false, "class": C,
"message": MSG}. Exit status 1 (with the error on stderr) when the
connection itself fails: refused, closed, or the TLS handshake rejected.
"""

import sipycotest_common as common

import argparse
import json
import sys

from sipyco.pc_rpc import Client


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("target")
    common.add_ssl_argument(p)
    p.add_argument("calls", nargs="*")
    args = p.parse_args()
    try:
        c = Client(args.host, args.port, args.target, timeout=20,
                   **common.ssl_kwargs(args))
    except Exception as e:
        print("connection failed: {!r}".format(e), file=sys.stderr)
        sys.exit(1)
    try:
        for call in args.calls:
            method, call_args = json.loads(call)
            try:
                ret = getattr(c, method)(*call_args)
                common.emit({"method": method, "ok": True, "ret": common.to_json(ret)})
            except Exception as e:
                common.emit({"method": method, "ok": False,
                             "class": type(e).__name__, "message": str(e)})
    finally:
        c.close_rpc()


if __name__ == "__main__":
    main()
