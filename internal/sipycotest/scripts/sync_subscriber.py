"""Subscribes with SiPyCo's sync_struct Subscriber and reports the replica.

usage: sync_subscriber.py HOST PORT NOTIFIER [--until JSON] [--mods N]
                          [--timeout 10] [--replicas] [--stdin]
                          [--ssl CERT KEY PEER]

Prints one JSON line per event:
  {"event": "init", "replica": DESCRIBED}
  {"event": "mod", "n": 3, "mod": JSON-of-mod, "pyon": "exact mod text"}
  {"event": "done", "reason": R, "mods": N, "replica": DESCRIBED}
DESCRIBED is {"type", "repr", "json", "pyon"} (see sipycotest_common).
With --replicas each mod event also has "replica": pyon.encode(replica)
after the mod. With --stdin it also stops (reason "stdin") at stdin EOF.
It stops when the replica's JSON view equals --until (checked after the init
and after every mod), when N mods have arrived (--mods), when the publisher
disconnects, or at --timeout; R is "until", "mods", "disconnected" or
"timeout". Exit status 0 when it stopped for a reason asked for ("until",
"mods", or "disconnected" when neither --until nor --mods was given), else 1.
"""

import sipycotest_common as common

import argparse
import asyncio
import json
import sys

from sipyco import pyon
from sipyco.sync_struct import Subscriber


async def run(args):
    until = json.loads(args.until) if args.until is not None else None
    done = asyncio.Event()
    st = {"replica": None, "mods": 0, "reason": None}

    def finish(reason):
        if st["reason"] is None:
            st["reason"] = reason
        done.set()

    def builder(struct):
        st["replica"] = struct
        return struct

    def notify(mod):
        if mod["action"] == "init":
            common.emit({"event": "init",
                         "replica": common.describe(st["replica"])})
        else:
            st["mods"] += 1
            ev = {"event": "mod", "n": st["mods"],
                  "mod": common.to_json(mod), "pyon": pyon.encode(mod)}
            if args.replicas:
                ev["replica"] = pyon.encode(st["replica"])
            common.emit(ev)
        if until is not None and common.to_json(st["replica"]) == until:
            finish("until")
        elif args.mods is not None and st["mods"] >= args.mods:
            finish("mods")

    sub = Subscriber(args.notifier, builder, notify,
                     lambda: finish("disconnected"))
    await asyncio.wait_for(
        sub.connect(args.host, args.port, **common.ssl_kwargs(args)),
        args.timeout)
    if args.stdin:
        eof = common.watch_stdin()
        asyncio.get_running_loop().create_task(eof.wait()).add_done_callback(
            lambda _: finish("stdin"))
    try:
        await asyncio.wait_for(done.wait(), args.timeout)
    except asyncio.TimeoutError:
        finish("timeout")
    finally:
        await sub.close()
    common.emit({"event": "done", "reason": st["reason"], "mods": st["mods"],
                 "replica": common.describe(st["replica"])})
    wanted = {"until", "mods", "stdin"}
    if until is None and args.mods is None:
        wanted.add("disconnected")
    return 0 if st["reason"] in wanted else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("notifier")
    p.add_argument("--until", help="JSON the replica's JSON view must equal")
    p.add_argument("--mods", type=int, help="stop after this many mods")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--replicas", action="store_true",
                   help="report the replica (PYON) with every mod")
    p.add_argument("--stdin", action="store_true",
                   help="also stop at stdin EOF")
    common.add_ssl_argument(p)
    sys.exit(asyncio.run(run(p.parse_args())))


if __name__ == "__main__":
    main()
