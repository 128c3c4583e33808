"""Drives a Go simsvc service with SiPyCo's Client and Subscriber and
prints one JSON line: what it saw.

usage: sipyco_drive.py HOST PORT
"""

import sipycotest_compat  # noqa: F401 -- must precede every sipyco import

import asyncio
import json
import sys

from sipyco.pc_rpc import Client
from sipyco.sync_struct import Subscriber


def live_status(host, port):
    got = {}

    def build(init):
        got.update(init)
        return got

    async def follow():
        sub = Subscriber("counter", build)
        await sub.connect(host, port)
        try:
            for _ in range(500):
                if got:
                    break
                await asyncio.sleep(0.01)
        finally:
            await sub.close()

    asyncio.run(follow())
    return got


def refresh(c):
    """Teaches c the methods added to the live target since c connected:
    SiPyCo's Client checks attribute names against the set it was sent at
    connection (sigoco sends the live set then; the server resolves every
    call against the live set, so only this client-side check is in the
    way). get_rpc_method_list has them all. Returns whether c knew them."""
    valid = c._Client__valid_methods
    listed = set(c.get_rpc_method_list()["methods"])
    knew = listed <= set(valid)
    valid.update(listed)
    return knew


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    out = {}
    c = Client(host, port, "counter")
    try:
        out["status0"] = c.status()
        try:
            c.step()
            out["early_step"] = "no error"
        except Exception as e:  # the remote StateError
            out["early_step"] = "%s: %s" % (type(e).__name__, e)
        c.run()
        out["before_init"] = "add" in c.get_rpc_method_list()["methods"]
        out["init1"] = c.init()
        out["init2"] = c.init()
        methods = c.get_rpc_method_list()["methods"]
        out["after_init"] = "add" in methods
        out["add_argspec"] = methods["add"][0]["args"] if "add" in methods else None
        out["start"] = c.start()
        for _ in range(3):
            c.step()
        out["current_step"] = c.current_step()
        c2 = Client(host, port, "counter")
        try:
            out["fresh_client_sees_add"] = refresh(c2)
            out["add"] = c2.add(2.5)
        finally:
            c2.close_rpc()
        refresh(c)
        out["rate"] = c.get_rate()
        c.set_rate(4.0)
        out["rate2"] = c.get_rate()
        out["properties"] = [p["name"] for p in c.properties()]
        out["live"] = {k: live_status(host, port).get(k) for k in ("status", "step")}
        c.stop(terminate_sim=False)
        out["final"] = c.status()
    finally:
        c.close_rpc()
    print(json.dumps(out))


main()
