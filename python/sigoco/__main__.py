"""python -m sigoco replay [--addr HOST:PORT] [TLS options] DIR

Sends the spools that runs left in DIR (a spool directory, or one run's
directory in it) to trackd, in order, exactly once, and removes what was
sent. Exit status: 0 all sent, 1 something was refused or is left, 2 bad
usage."""

import argparse
import os
import sys

from .run import replay, DEFAULT_ADDR
from .rpc import ssl_context


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sigoco", description="sigoco's Python tracking client")
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("replay", help="send the spools runs left in DIR to trackd")
    r.add_argument("dir")
    r.add_argument("--addr", help="trackd's HOST:PORT (default $SIGOCO_TRACK_ADDR, else %s)" % DEFAULT_ADDR)
    r.add_argument("--tls-cert", help="client certificate (PEM)")
    r.add_argument("--tls-key", help="client key (PEM)")
    r.add_argument("--tls-peer-cert", help="trackd's certificate (PEM): enables TLS")
    r.add_argument("--token", help="access token (default $SIGOCO_TOKEN; for trackd with an access file)")
    a = p.parse_args(argv)
    if a.cmd != "replay":
        p.print_usage(sys.stderr)
        return 2
    if not os.path.isdir(a.dir):
        sys.stderr.write("sigoco replay: %s is not a directory\n" % a.dir)
        return 1
    ctx = ssl_context(a.tls_cert, a.tls_key, a.tls_peer_cert) if (a.tls_peer_cert or a.tls_cert) else None
    try:
        res = replay(a.dir, addr=a.addr, ssl_context=ctx, token=a.token)
    except (OSError, ValueError) as e:
        sys.stderr.write("sigoco replay: %s\n" % e)
        return 1
    bad = 0
    for x in res:
        print("%s: %d batches, %d records stored, %d already there, %d refused, %d artifacts%s" % (
            x["run"], x["batches"], x["applied"], x["skipped"], x["rejected"], x["blobs"],
            "; " + x["error"] if x["error"] else ""))
        bad += 1 if (x["error"] or x["rejected"]) else 0
    if not res:
        print("nothing to replay in %s" % a.dir)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
