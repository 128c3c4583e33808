"""Test helpers: the repository's python/ on sys.path, and a real trackd
built from the tree once per test process (`go build ./trackd`), started on
a free loopback port with a temporary data directory."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYDIR)
if PYDIR not in sys.path:
    sys.path.insert(0, PYDIR)

import sigoco  # noqa: E402
from sigoco import pyon  # noqa: E402

_bin = None
_bindir = None


def trackd_binary():
    """Build trackd from the tree once per process; SkipTest without Go."""
    global _bin, _bindir
    if _bin is not None:
        return _bin
    if os.environ.get("SIGOCO_TRACKD"):
        _bin = os.environ["SIGOCO_TRACKD"]
        return _bin
    go = shutil.which("go")
    if go is None:
        raise unittest.SkipTest("go is not installed: trackd cannot be built")
    _bindir = tempfile.mkdtemp(prefix="sigoco-pytest-bin-")
    import atexit
    atexit.register(shutil.rmtree, _bindir, True)
    out = os.path.join(_bindir, "trackd")
    p = subprocess.run([go, "build", "-o", out, "./trackd"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError("go build ./trackd failed:\n" + p.stdout.decode(errors="replace"))
    _bin = out
    return _bin


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Trackd:
    """A trackd process on 127.0.0.1:port with data in its own temp dir."""

    def __init__(self, port=None, data=None, args=()):
        self.port = port or free_port()
        self.data = data or tempfile.mkdtemp(prefix="sigoco-pytest-data-")
        self.args = list(args)
        self.proc = None
        self.log = None
        self.addr = "127.0.0.1:%d" % self.port

    def start(self, wait=True):
        self.log = open(os.path.join(self.data, "trackd.log"), "ab")
        self.proc = subprocess.Popen([trackd_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--data", self.data, "-q"] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("trackd exited with %s; log in %s" % (self.proc.returncode, self.data))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("trackd did not listen on %d" % self.port)

    def kill(self):
        """kill -9"""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.log:
            self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()

    def client(self, **kw):
        return sigoco.Client("127.0.0.1", self.port, "tracker", **kw)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def column(v):
    """A numeric column of a reply: a list, or an nparray (numpy or not)."""
    if isinstance(v, pyon.NDArray):
        from array import array
        a = array({"<i8": "q", "<f8": "d"}[v.dtype])
        a.frombytes(v.data)
        if sys.byteorder != "little":
            a.byteswap()
        return list(a)
    if hasattr(v, "tolist"):
        return v.tolist()
    return list(v or [])


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
