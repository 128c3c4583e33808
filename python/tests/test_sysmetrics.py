"""The Python client's system metrics (sigoco/sysmetrics.py) against a real trackd."""

import os
import random
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
import unittest
import warnings
from unittest import mock

import _support
import sigoco
from sigoco import sysmetrics

D = None


def setUpModule():
    global D
    D = _support.Trackd().start()


def tearDownModule():
    D.cleanup()


class SysMetrics(unittest.TestCase):
    def setUp(self):
        self.spool = tempfile.mkdtemp(prefix="sigoco-pytest-spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)
        self.c = D.client()
        self.addCleanup(self.c.close)

    def series_len(self, rid):
        return {s["key"]: s["len"] for s in self.c.get_run(rid).get("series") or [] if s["key"].startswith("sys.")}

    def test_sampled_as_series(self):
        run = sigoco.Run("pytest", "sys", addr=D.addr, spool_dir=self.spool, sys_metrics=0.02)
        want = ["sys.cpu.percent", "sys.py.gc_collections", "sys.py.threads"]
        if sys.platform.startswith("linux"):
            want.append("sys.rss_bytes")
        deadline = time.monotonic() + 60
        while True:  # until three samples of each are stored (or the deadline)
            run.flush(10)
            n = self.series_len(run.id)
            if all(n.get(k, 0) >= 3 for k in want):
                break
            self.assertLess(time.monotonic(), deadline, n)
            time.sleep(0.02)
        st = run.close()
        self.assertEqual(st["errors"], [], st)
        for k in want:
            s = self.c.series(run.id, k, {})
            steps = _support.column(s["step"])
            self.assertEqual(steps, list(range(len(steps))), k)
            vals = _support.column(s["value"])
            self.assertTrue(all(v >= 0 for v in vals), (k, vals))
        self.assertGreaterEqual(min(_support.column(self.c.series(run.id, "sys.py.threads", {})["value"])), 2)

    def test_off(self):
        for kw in ({"sys_metrics": 0}, {"metadata": False}):
            run = sigoco.Run("pytest", "off", addr=D.addr, spool_dir=self.spool, **kw)
            self.assertIsNone(run._sys, kw)
            run.log_result("x", 1.0)
            run.close()
            self.assertEqual(self.series_len(run.id), {}, kw)


TWO_GPUS = """cat <<'EOF'
0, 37, 1024, 16384, 45, 71.25
1, 0, 10, 16384, 30, [N/A]
EOF
"""

# What TWO_GPUS gives: GPU 1 does not report its power.
TWO_GPUS_VALUES = {
    "sys.gpu0.util_percent": 37, "sys.gpu0.mem_used_bytes": 1024 << 20, "sys.gpu0.mem_total_bytes": 16384 << 20,
    "sys.gpu0.temp_celsius": 45, "sys.gpu0.power_watts": 71.25,
    "sys.gpu1.util_percent": 0, "sys.gpu1.mem_used_bytes": 10 << 20, "sys.gpu1.mem_total_bytes": 16384 << 20,
    "sys.gpu1.temp_celsius": 30,
}


def fake_nvidia_smi(test, body):
    """An executable nvidia-smi script in a new directory (returned); it
    fails unless asked the query the clients send."""
    d = tempfile.mkdtemp(prefix="sigoco-pytest-gpu-")
    test.addCleanup(shutil.rmtree, d, True)
    p = os.path.join(d, "nvidia-smi")
    with open(p, "w") as f:
        f.write("#!/bin/sh\n"
                '[ "$1" = "--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw" ] && '
                '[ "$2" = "--format=csv,noheader,nounits" ] || { echo "unexpected arguments: $*" >&2; exit 2; }\n' + body)
    os.chmod(p, stat.S_IRWXU)
    return d


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return not f.read().rpartition(b")")[2].startswith(b" Z")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@unittest.skipUnless(os.name == "posix", "the fake nvidia-smi is a shell script")
class GPU(unittest.TestCase):
    """GPU metrics through a fake nvidia-smi (sigoco/sysmetrics.py, GPU)."""

    setUp = SysMetrics.setUp
    series_len = SysMetrics.series_len

    def wait_series(self, run, want, n):
        deadline = time.monotonic() + 60
        while True:  # until n points of each are stored (or the deadline)
            run.flush(10)
            have = self.series_len(run.id)
            if all(have.get(k, 0) >= n for k in want):
                return have
            self.assertLess(time.monotonic(), deadline, have)
            time.sleep(0.02)

    def hanging(self):
        """A fake whose child never answers; it appends the child's pid to the returned file first."""
        pids = os.path.join(tempfile.mkdtemp(prefix="sigoco-pytest-pids-"), "pids")
        self.addCleanup(shutil.rmtree, os.path.dirname(pids), True)
        d = fake_nvidia_smi(self, "sleep 60 &\necho $! >> '%s'\nwait\n" % pids)
        return os.path.join(d, "nvidia-smi"), pids

    @staticmethod
    def read_pids(path):
        try:
            with open(path) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def test_gpu_series(self):
        d = fake_nvidia_smi(self, TWO_GPUS)
        with mock.patch.dict(os.environ, {"PATH": d + os.pathsep + os.environ.get("PATH", "")}):
            run = sigoco.Run("pytest", "gpu", addr=D.addr, spool_dir=self.spool, sys_metrics=0.02)  # nvidia-smi looked up here
        self.wait_series(run, list(TWO_GPUS_VALUES) + ["sys.py.threads"], 3)
        st = run.close()
        self.assertEqual(st["errors"], [], st)
        have = self.series_len(run.id)
        self.assertEqual(sorted(k for k in have if k.startswith("sys.gpu")), sorted(TWO_GPUS_VALUES))
        threads = _support.column(self.c.series(run.id, "sys.py.threads", {})["step"])
        for k, v in TWO_GPUS_VALUES.items():
            s = self.c.series(run.id, k, {})
            self.assertEqual(_support.column(s["step"]), threads, k)  # every sample has the GPUs
            self.assertEqual(set(_support.column(s["value"])), {v}, k)

    def test_gpu_off(self):
        d = fake_nvidia_smi(self, TWO_GPUS)
        with mock.patch.dict(os.environ, {"PATH": d + os.pathsep + os.environ.get("PATH", "")}):
            run = sigoco.Run("pytest", "gpu-off", addr=D.addr, spool_dir=self.spool, sys_metrics=0.02, gpu_metrics=False)
        have = self.wait_series(run, ["sys.py.threads"], 3)
        run.close()
        self.assertEqual([k for k in have if k.startswith("sys.gpu")], [])

    def test_gpu_hang(self):
        """A query that never answers is killed with its children after
        GPU_TIMEOUT; sampling goes on, and after three failures the run
        stops asking, with one warning."""
        cmd, pids = self.hanging()
        with mock.patch.object(sysmetrics, "GPU_TIMEOUT", 0.3), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = sigoco.Run("pytest", "gpu-hang", addr=D.addr, spool_dir=self.spool, sys_metrics=0.02, gpu_metrics=cmd)

            def warned():
                return [w for w in list(caught) if "GPU metrics off" in str(w.message)]
            _support.wait_for(warned, 60, "the warning")
            n = self.wait_series(run, ["sys.py.threads"], 0).get("sys.py.threads", 0)
            have = self.wait_series(run, ["sys.py.threads"], n + 5)
            run.close()
            self.assertEqual(len(warned()), 1, [str(w.message) for w in caught])
            self.assertTrue(issubclass(warned()[0].category, sigoco.SigocoWarning))
        self.assertEqual([k for k in have if k.startswith("sys.gpu")], [])
        started = self.read_pids(pids)
        self.assertTrue(1 <= len(started) <= 3, started)
        _support.wait_for(lambda: not any(alive(p) for p in started), 20, "the fake's children to be killed")

    def test_gpu_hang_close(self):
        """close() during a query that would take an hour kills it and returns."""
        cmd, pids = self.hanging()
        with mock.patch.object(sysmetrics, "GPU_TIMEOUT", 3600):
            run = sigoco.Run("pytest", "gpu-hang-close", addr=D.addr, spool_dir=self.spool, sys_metrics=0.02, gpu_metrics=cmd)
            started = _support.wait_for(lambda: self.read_pids(pids), 60, "the query to start")
            t = threading.Thread(target=run.close)
            t.start()
            t.join(30)
            self.assertFalse(t.is_alive(), "close() waits for the hanging query")
        _support.wait_for(lambda: not any(alive(p) for p in started), 20, "the fake's children to be killed")


class ParseNvidiaSMI(unittest.TestCase):
    def test_cases(self):
        for out, want in [
            (b"0, 37, 1024, 16384, 45, 71.25\n1, 0, 10, 16384, 30, [N/A]\n", TWO_GPUS_VALUES),
            (b"3, [Not Supported], 5, 6, [N/A], 12.5", {"sys.gpu3.mem_used_bytes": 5 << 20, "sys.gpu3.mem_total_bytes": 6 << 20, "sys.gpu3.power_watts": 12.5}),
            (b"No devices were found\n0, 1, 2\n0, 1, 2, 3, 4, 5, 6\nx, 1, 2, 3, 4, 5\n-1, 1, 2, 3, 4, 5\n64, 1, 2, 3, 4, 5\n1, NaN, Inf, 1e400, -Inf, 7\n",
             {"sys.gpu1.power_watts": 7}),
            (b"2, 10, 1, 1, 1, 1\n2, 20, 1, 1, 1, 1\n", {"sys.gpu2.util_percent": 10, "sys.gpu2.mem_used_bytes": 1 << 20,
                                                      "sys.gpu2.mem_total_bytes": 1 << 20, "sys.gpu2.temp_celsius": 1, "sys.gpu2.power_watts": 1}),
            (b"", {}),
        ]:
            self.assertEqual(sysmetrics.parse_nvidia_smi(out), want, out)

    def test_bounded(self):
        """At most 64 GPUs; any bytes give well-named finite values (a
        seeded fuzz over the atoms of the query's lines)."""
        many = b"".join(b"%d, 1, 2, 3, 4, 5\n" % (i % 100) for i in range(200))
        self.assertEqual(len(sysmetrics.parse_nvidia_smi(many)), 64 * 5)
        key = re.compile(r"^sys\.gpu([0-9]|[1-5][0-9]|6[0-3])\.(util_percent|mem_used_bytes|mem_total_bytes|temp_celsius|power_watts)$")
        rnd = random.Random(27)
        atoms = [b"0", b"63", b"64", b"-1", b"1.5", b"[N/A]", b"nan", b"inf", b"1e400", b" ", b",", b"\n", b"\r", b"\x00", b"\xff", b"1_0", b"+2"]
        for _ in range(2000):
            out = b"".join(rnd.choice(atoms) for _ in range(rnd.randrange(60)))
            for k, v in sysmetrics.parse_nvidia_smi(out).items():
                self.assertRegex(k, key)
                self.assertTrue(v == v and abs(v) != float("inf"), (out, k, v))


if __name__ == "__main__":
    unittest.main()
