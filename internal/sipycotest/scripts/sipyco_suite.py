"""Runs one of SiPyCo's own unittest cases against sigoco peers.

Usage: sipyco_suite.py CASE [--variant go-server|go-forwarder]
       sipyco_suite.py --list

CASE is a test id below sipyco.test, e.g. test_pc_rpc.RPCCase.test_blocking_echo.
SiPyCo's test module is imported unchanged; only the peer it would start in
Python is replaced, in this process, by one the Go test starts:

- test_pc_rpc: RPCCase._run_server_and_test asks for a Go rpc server with
  target "test" (the equivalent of SiPyCo's Echo), runs the case's client
  function against it, then asks for the server to be stopped;
- test_rpctool: the module's Server becomes a Go rpc server with target
  "target"; the sipyco_rpctool command line the case runs gets the Go
  server's address instead of ::1 7777;
- test_sync_struct: the module's sync_struct.Publisher becomes a Go
  Publisher; each mod the case's Python Notifier makes is sent to the Go
  test, which makes the same change to the Go Notifier;
- test_logging, variant go-server: logs.Server becomes the Go log server;
  each record it receives is handed back here and logged as SiPyCo's
  Server logs it (logs.log_with_name with the source);
- test_logging, variant go-forwarder: logs.LogForwarder becomes the Go
  Forwarder (SiPyCo format), sending to SiPyCo's real logs.Server.

The module globals test_address/test_port become 127.0.0.1 and the port of
the Go peer. Nothing of SiPyCo is modified on disk.

Protocol with the Go test: requests are stdout lines "req JSON", each
answered by one stdin line of JSON ({"error": ...} on failure); stdin lines
holding "event" are asynchronous (a record the Go log server received).
The last stdout line is "result JSON": {"case", "outcome" (pass, fail,
error, skip), "details"}. unittest's own output goes to stderr, and so
does anything else printed to stdout. --list prints the ids of every test
case of the five modules, one JSON list.
"""

import sipycotest_compat  # noqa: F401 -- must precede every sipyco import

import argparse
import asyncio
import faulthandler
import io
import json
import logging
import os
import queue
import sys
import threading
import traceback
import types
import unittest

MODULES = ["test_pc_rpc", "test_sync_struct", "test_logging", "test_rpctool",
           "generic_rpc"]

# The protocol channel is the original stdout; stdout itself goes to stderr.
_proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr

_replies = queue.Queue()
_event_handler = None  # (loop, fn) receiving event dicts in that loop
_lock = threading.Lock()
_go_errors = []  # errors the Go side reported, added to the result


def _reader():
    for line in sys.stdin:
        msg = json.loads(line)
        if "event" in msg:
            h = _event_handler
            if h is not None:
                h[0].call_soon_threadsafe(h[1], msg)
            continue
        _replies.put(msg)
    _replies.put({"error": "stdin closed"})


def request(op, **kw):
    """Send one request to the Go test and return its reply."""
    kw["op"] = op
    with _lock:
        _proto.write("req " + json.dumps(kw) + "\n")
        _proto.flush()
        reply = _replies.get(timeout=60)
    if "error" in reply:
        _go_errors.append("{}: {}".format(op, reply["error"]))
    return reply


def _ssl_files(cfg):
    if cfg is None:
        return None
    return [cfg.local_cert, cfg.local_key, cfg.peer_cert]


def patch_pc_rpc(mod):
    mod.test_address = "127.0.0.1"

    def _run_server_and_test(self, test, *args, ssl_config=None):
        ssl = None
        if ssl_config is not None:
            c = self.ssl_certs
            ssl = [c["server_cert"], c["server_key"], c["client_cert"]]
        reply = request("rpc_server", kind="echo", ssl=ssl)
        if "port" not in reply:
            raise RuntimeError("Go rpc server did not start: " + reply.get("error", ""))
        mod.test_port = reply["port"]
        try:
            test(*args, ssl_config=ssl_config)
        finally:
            request("rpc_stop")

    mod.RPCCase._run_server_and_test = _run_server_and_test


def patch_rpctool(mod):
    state = {}

    class GoServer:
        def __init__(self, targets, *a, **kw):
            self.targets = list(targets)

        async def start(self, host, port, ssl_config=None):
            reply = request("rpc_server", kind="rpctool", ssl=_ssl_files(ssl_config))
            if "port" not in reply:
                raise RuntimeError("Go rpc server did not start: " + reply.get("error", ""))
            state["addr"] = (str(host), str(port), "127.0.0.1", str(reply["port"]))

        async def stop(self):
            request("rpc_stop")

    real = asyncio.create_subprocess_exec

    async def create_subprocess_exec(*cmd, **kw):
        cmd = list(cmd)
        host, port, ghost, gport = state["addr"]
        for i in range(len(cmd) - 1):
            if cmd[i] == host and cmd[i + 1] == port:
                cmd[i], cmd[i + 1] = ghost, gport
                break
        return await real(*cmd, **kw)

    shim = types.SimpleNamespace(**{k: getattr(asyncio, k) for k in dir(asyncio)
                                    if not k.startswith("__")})
    shim.create_subprocess_exec = create_subprocess_exec
    mod.asyncio = shim
    mod.Server = GoServer


def patch_sync_struct(mod):
    mod.test_address = "127.0.0.1"
    from sipyco import pyon, sync_struct

    class GoPublisher:
        def __init__(self, notifiers):
            self.notifiers = notifiers
            for name, n in notifiers.items():
                n.publish = lambda m, name=name: self._publish(name, m)

        def _publish(self, name, m):
            request("sync_mod", notifier=name, mod=pyon.encode(m))

        async def start(self, host, port, ssl_config=None):
            reply = request("sync_start", ssl=_ssl_files(ssl_config),
                            notifiers={k: pyon.encode(n.raw_view)
                                       for k, n in self.notifiers.items()})
            if "port" not in reply:
                raise RuntimeError("Go publisher did not start: " + reply.get("error", ""))
            mod.test_port = reply["port"]

        async def stop(self):
            request("sync_stop")

    proxy = types.ModuleType("sync_struct")
    proxy.__dict__.update(sync_struct.__dict__)
    proxy.Publisher = GoPublisher
    mod.sync_struct = proxy


def patch_logging(mod, variant):
    mod.test_address = "127.0.0.1"
    from sipyco import logs
    proxy = types.ModuleType("logs")
    proxy.__dict__.update(logs.__dict__)

    if variant == "go-server":
        class GoLogServer:
            async def start(self, host, port, ssl_config=None):
                global _event_handler
                loop = asyncio.get_running_loop()

                def on_record(ev):
                    logs.log_with_name(ev["name"], ev["level"], ev["message"],
                                       extra={"source": ev["source"]})
                _event_handler = (loop, on_record)
                reply = request("log_server", ssl=_ssl_files(ssl_config))
                if "port" not in reply:
                    raise RuntimeError("Go log server did not start: " + reply.get("error", ""))
                mod.test_port = reply["port"]

            async def stop(self):
                global _event_handler
                request("log_stop")
                _event_handler = None

        proxy.Server = GoLogServer
    elif variant == "go-forwarder":
        class PortZeroServer(logs.Server):
            # SiPyCo's real server, on a free port instead of 7777.
            async def start(self, host, port, ssl_config=None):
                await logs.Server.start(self, host, 0, ssl_config)
                mod.test_port = self.server.sockets[0].getsockname()[1]

        class GoForwarder(logging.Handler):
            def __init__(self, host, port, reconnect_timer=5.0, queue_size=1000,
                         ssl_config=None, **kwargs):
                logging.Handler.__init__(self, **kwargs)
                self.addr = [str(host), int(port)]
                self.ssl = _ssl_files(ssl_config)

            def emit(self, record):
                request("fwd_log", addr=self.addr, ssl=self.ssl,
                        source=record.source, name=record.name,
                        level=record.levelno, message=record.getMessage())

            async def _do(self):
                try:
                    await asyncio.get_running_loop().create_future()
                finally:
                    request("fwd_stop")

        proxy.Server = PortZeroServer
        proxy.LogForwarder = GoForwarder
    else:
        raise SystemExit("test_logging needs --variant go-server or go-forwarder")
    mod.logs = proxy


def quiet_openssl():
    """SiPyCo's ssl_certs runs openssl with stderr inherited: its progress
    dots would drown the case's own output. Capture it instead (a failing
    openssl still raises CalledProcessError, with its stderr)."""
    import subprocess
    from sipyco.test import ssl_certs
    shim = types.SimpleNamespace(**{k: getattr(subprocess, k) for k in dir(subprocess)
                                    if not k.startswith("__")})

    def run(*a, **kw):
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.run(*a, **kw)
    shim.run = run
    ssl_certs.subprocess = shim


def list_cases():
    import importlib
    ids = []
    loader = unittest.TestLoader()
    for m in MODULES:
        module = importlib.import_module("sipyco.test." + m)
        for t in _flatten(loader.loadTestsFromModule(module)):
            ids.append(t.id()[len("sipyco.test."):])
    return sorted(ids)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", nargs="?")
    parser.add_argument("--variant")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        _proto.write(json.dumps(list_cases()) + "\n")
        return 0

    import importlib
    modname = args.case.split(".")[0]
    mod = importlib.import_module("sipyco.test." + modname)
    patch = {"test_pc_rpc": lambda: patch_pc_rpc(mod),
             "test_rpctool": lambda: patch_rpctool(mod),
             "test_sync_struct": lambda: patch_sync_struct(mod),
             "test_logging": lambda: patch_logging(mod, args.variant)}.get(modname)
    if patch is None:
        raise SystemExit("no sigoco peer for " + modname)
    patch()
    quiet_openssl()
    threading.Thread(target=_reader, daemon=True).start()
    faulthandler.dump_traceback_later(25, exit=False)

    suite = unittest.TestLoader().loadTestsFromName("sipyco.test." + args.case)
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    sys.stderr.write(stream.getvalue())
    outcome, details = "pass", ""
    if result.errors:
        outcome, details = "error", "\n".join(tb for _, tb in result.errors)
    elif result.failures:
        outcome, details = "fail", "\n".join(tb for _, tb in result.failures)
    elif result.skipped:
        outcome, details = "skip", "\n".join(r for _, r in result.skipped)
    elif result.testsRun != 1:
        outcome, details = "error", "ran {} tests".format(result.testsRun)
    if _go_errors:
        details += "\nreported by the Go side:\n" + "\n".join(_go_errors)
    _proto.write("result " + json.dumps({"case": args.case, "outcome": outcome,
                                         "details": details}) + "\n")
    _proto.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
