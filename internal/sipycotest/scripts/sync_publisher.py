"""A SiPyCo sync_struct Publisher with the notifiers of the one that produced
sipyco_sync_struct.jsonl, driven by commands on stdin.

usage: sync_publisher.py [--host 127.0.0.1] [--port 0] [--ssl CERT KEY PEER]

Publishes notifiers "state" = {"runs": {}, "counts": [], "status": "idle"}
and "other" = [], and the notifiers of the publisher that recorded
sipyco_sync_struct.jsonl (its README): "main" (as "state"), "listroot" = [],
"t" = {}, "datasets" (two ARTIQ datasets, "calib.freq" and "calib.name")
and "datasets_legacy" = {"old.value": (True, 3.0)}. Prints "ready PORT HOST", then reads one command per stdin
line and answers each with one stdout line, "ok VERB" or "error VERB: why":

  mods                 apply a fixed scenario of mods to state (that of an
                       earlier, single-session recording; final state {"runs": {}, "counts": [42],
                       "status": "done", "extra": 1.5})
  mod NOTIFIER PYON    apply one mod given in SiPyCo's own format, e.g.
                       mod other {"action":"append","path":[],"x":1}
                       (actions setitem, delitem, append, insert, pop)
  update NOTIFIER PYON update_from_dict(notifier, value)
  burst NOTIFIER N     append 0..N-1 to the list at the notifier's root
  dump NOTIFIER        print "dump JSON" with the notifier's value described
                       as {"type", "repr", "json", "pyon"}

Stdin EOF stops the publisher (exit 0).
"""

import sipycotest_common as common

import argparse
import asyncio
import json

from sipyco import pyon
from sipyco.sync_struct import Notifier, Publisher, update_from_dict


def recorded_mods(n):
    """A fixed scenario of mods (an earlier recording's), in its order."""
    n["status"] = "running"
    n["runs"]["r1"] = {"params": {"v": 100}, "step": 0}
    n["runs"]["r1"]["step"] = 1
    n["counts"].append(42)
    n["counts"].append([1, 2])
    n["counts"][1].append(3)
    n["counts"].insert(0, 7)
    n["counts"].pop(0)
    n["counts"].pop()
    n["runs"][(1, 2)] = "tuple key"
    del n["runs"][(1, 2)]
    del n["runs"]["r1"]["params"]
    update_from_dict(n, {"runs": {}, "counts": [42], "status": "done",
                         "extra": 1.5})


def apply_mod(n, mod):
    for key in mod["path"]:
        n = n[key]
    action = mod["action"]
    if action == "setitem":
        n[mod["key"]] = mod["value"]
    elif action == "delitem":
        del n[mod["key"]]
    elif action == "append":
        n.append(mod["x"])
    elif action == "insert":
        n.insert(mod["i"], mod["x"])
    elif action == "pop":
        n.pop(mod.get("i", -1))
    else:
        raise ValueError("unknown action " + repr(action))


def run_command(notifiers, line):
    verb, _, rest = line.partition(" ")
    try:
        if verb == "mods":
            recorded_mods(notifiers["state"])
        elif verb in ("mod", "update", "burst", "dump"):
            name, _, arg = rest.partition(" ")
            n = notifiers[name]
            if verb == "mod":
                apply_mod(n, pyon.decode(arg))
            elif verb == "update":
                update_from_dict(n, pyon.decode(arg))
            elif verb == "burst":
                for i in range(int(arg)):
                    n.append(i)
            else:
                print("dump " + json.dumps(common.describe(n.raw_view),
                                           allow_nan=False), flush=True)
                return
        elif verb == "":
            return
        else:
            raise ValueError("unknown command")
    except Exception as e:
        print("error {}: {}: {}".format(verb, type(e).__name__, e), flush=True)
        return
    print("ok " + verb, flush=True)


async def serve(args):
    notifiers = {
        "state": Notifier({"runs": {}, "counts": [], "status": "idle"}),
        "other": Notifier([]),
        # The recording's notifiers (sipyco-wire README).
        "main": Notifier({"runs": {}, "counts": [], "status": "idle"}),
        "listroot": Notifier([]),
        "t": Notifier({}),
        "datasets": Notifier({
            "calib.freq": {"persist": True, "value": 1.5e8,
                           "metadata": {"unit": "MHz", "scale": 1e6,
                                        "precision": 3}},
            "calib.name": {"persist": True, "value": "trap A",
                           "metadata": {}}}),
        "datasets_legacy": Notifier({"old.value": (True, 3.0)}),
    }
    publisher = Publisher(notifiers)
    await publisher.start(args.host, args.port, **common.ssl_kwargs(args))
    try:
        common.ready(publisher, args.host)
        await common.watch_stdin(
            lambda line: run_command(notifiers, line)).wait()
    finally:
        await publisher.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    common.add_ssl_argument(p)
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
