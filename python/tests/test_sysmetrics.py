"""The Python client's system metrics (sigoco/sysmetrics.py) against a real trackd."""

import shutil
import sys
import tempfile
import time
import unittest

import _support
import sigoco

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


if __name__ == "__main__":
    unittest.main()
