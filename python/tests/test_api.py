"""SimplyPy's API against a real trackd (built from the tree, once)."""

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import warnings

import _support
import sigoco
from sigoco import pyon

D = None  # the module's trackd


def setUpModule():
    global D
    D = _support.Trackd().start()


def tearDownModule():
    D.cleanup()


class Base(unittest.TestCase):
    def setUp(self):
        self.spool = tempfile.mkdtemp(prefix="sigoco-pytest-spool-")
        self.c = D.client()

    def tearDown(self):
        try:
            sigoco.close()
        except RuntimeError:
            pass
        self.c.close()
        shutil.rmtree(self.spool, ignore_errors=True)

    def start(self, **kw):
        kw.setdefault("project_name", "pytest")
        return sigoco.track(addr=D.addr, spool_dir=self.spool, **kw)


class TestTutorial(Base):
    SCRIPT = textwrap.dedent('''
        import logging, sys
        import sigoco

        sigoco.track(project_name="tutorial", addr=sys.argv[1], spool_dir=sys.argv[2])
        sigoco.log_param("velocity", 100)
        sigoco.log_param({"drag": 0.4, "shape": (2, 3)})
        sigoco.log_param(mass=1.5, name="ball")

        @sigoco.track
        def step(v):
            return v * 0.99

        @sigoco.count
        def helper():
            pass

        log = logging.getLogger("tutorial")
        log.setLevel(logging.INFO)
        log.addHandler(sigoco.LogHandler())
        v = 100.0
        sigoco.set_status("running")
        for i in range(50):
            v = step(v)
            helper()
            sigoco.log_result("velocity", v, step=i)
            sigoco.set_progress(2 * (i + 1))
        sigoco.log_result({"final": v, "ok": True})
        sigoco.log_result(energy=0.5 * v * v)
        with open(sys.argv[3], "w") as f:
            f.write("t,v\\n0,100\\n")
        sigoco.log_result(path=sys.argv[3])
        sigoco.add_note("first tutorial run")
        sigoco.add_tag("tutorial")
        sigoco.add_metadata("solver", "euler")
        log.info("done after %d steps", 50)
        print(sigoco.get_context().id)
        # no close(): atexit ends the run and flushes
    ''')

    def test_tutorial_flow_end_to_end(self):
        d = tempfile.mkdtemp(prefix="sigoco-pytest-tut-")
        self.addCleanup(shutil.rmtree, d, True)
        script = os.path.join(d, "sim.py")
        with open(script, "w") as f:
            f.write(self.SCRIPT)
        csv = os.path.join(d, "out.csv")
        env = dict(os.environ, PYTHONPATH=_support.PYDIR)
        p = subprocess.run([sys.executable, script, D.addr, self.spool, csv], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        rid = p.stdout.decode().strip()
        r = self.c.get_run(rid)
        self.assertEqual(r["project"], "tutorial")
        self.assertEqual(r["status"], "finished")
        self.assertEqual(r["progress"], 100.0)
        self.assertEqual(r["params"]["velocity"], 100)
        self.assertEqual(r["params"]["drag"], 0.4)
        self.assertEqual(r["params"]["mass"], 1.5)
        self.assertEqual(r["params"]["name"], "ball")
        self.assertEqual(list(r["params"]["shape"]), [2, 3])
        self.assertEqual(r["tags"], ["tutorial"])
        self.assertEqual([n["text"] for n in r["notes"]], ["first tutorial run"])
        self.assertEqual(r["metadata"]["solver"], "euler")
        self.assertEqual(r["metadata"]["simply.language"], "python")
        self.assertIn("sigoco.track(project_name=\"tutorial\"", r["metadata"]["simply.python.main_script_source"])
        self.assertEqual(r["metadata"]["args"][0], script)
        self.assertIn("python.version", r["metadata"])
        self.assertIn("simply.runtime", r["metadata"])
        self.assertEqual(r["counts"]["step"]["calls"], 50)
        self.assertEqual(r["counts"]["helper"]["calls"], 50)
        s = self.c.series(rid, "velocity", {})
        self.assertEqual(s["len"], 50)
        self.assertEqual(_support.column(s["step"]), list(range(50)))
        self.assertAlmostEqual(_support.column(s["value"])[-1], 100 * 0.99 ** 50)
        self.assertIn("final", r["latest"])
        self.assertIn("energy", r["latest"])
        arts = {a["name"]: a for a in r["artifacts"]}
        a = arts["out.csv"]
        self.assertTrue(a["result"])
        self.assertTrue(a["present"])
        self.assertEqual(a["sha256"], hashlib.sha256(b"t,v\n0,100\n").hexdigest())
        self.assertEqual(self.c.read_blob(a["sha256"], 0, 100), b"t,v\n0,100\n")
        logs = _support.wait_for(lambda: self.c.logs({"run": rid})["logs"], what="the run's log")
        self.assertEqual(logs[-1]["message"], "done after 50 steps")
        self.assertEqual(logs[-1]["logger"], "tutorial")
        self.assertEqual(os.listdir(self.spool), [])  # nothing left behind


class TestLogParam(Base):
    def test_three_forms_and_errors(self):
        run = self.start()
        sigoco.log_param("a", 1)
        sigoco.log_param({"b": 2.5, "c": "x"})
        sigoco.log_param(d=[1, 2], e={"k": None})
        with self.assertRaisesRegex(ValueError, "You provided a parameter name 'f' but no value."):
            sigoco.log_param("f")
        with self.assertRaisesRegex(ValueError, "Invalid Entry: You must provide a key/value pair, a dictionary, or keyword arguments."):
            sigoco.log_param()
        with self.assertRaises(ValueError):
            sigoco.log_param(5)
        with self.assertRaises(TypeError):
            sigoco.log_param("g", object())
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sigoco.log_param("a", 2)  # write-once: the server refuses, the simulation goes on
            self.assertTrue(run.flush(30))
        self.assertTrue(any(issubclass(x.category, sigoco.SigocoWarning) and "already" in str(x.message) for x in w),
                        [str(x.message) for x in w])
        sigoco.close()
        p = self.c.get_run(run.id)["params"]
        self.assertEqual(p, {"a": 1, "b": 2.5, "c": "x", "d": [1, 2], "e": {"k": None}})

    def test_bad_run_id(self):
        for bad in ("../../x", "-rf", "a/b", "é", "x" * 65, ".."):
            with self.assertRaisesRegex(ValueError, "bad run id"):
                self.start(run_id=bad)
        self.assertEqual(os.listdir(self.spool), [])

    def test_parent(self):
        parent = sigoco.Run("pytest", addr=D.addr, spool_dir=self.spool, metadata=False)
        self.assertTrue(parent.flush(30))
        child = self.start(parent=parent.id, metadata=False)
        self.assertTrue(child.flush(30))
        sigoco.close()
        self.assertEqual(self.c.get_run(child.id).get("parent"), parent.id)
        kids = self.c.list_runs({"parent": parent.id})["runs"]
        self.assertEqual([r["id"] for r in kids], [child.id])
        # A parent that does not exist: refused, the client is told.
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            orphan = self.start(parent=sigoco.new_id(), metadata=False)
            self.assertTrue(orphan.flush(30))
            sigoco.close()
        self.assertTrue(any("does not exist" in str(x.message) for x in w), [str(x.message) for x in w])
        self.assertFalse(self.c.get_run(orphan.id).get("parent"))
        with self.assertRaisesRegex(ValueError, "bad run id"):
            self.start(parent="../x")
        parent.close()

    def test_nothing_tracked(self):
        for f, args in [(sigoco.log_param, ("a", 1)), (sigoco.log_result, ("x", 1.0)), (sigoco.add_note, ("n",)),
                        (sigoco.add_tag, ("t",)), (sigoco.get_context, ())]:
            with self.assertRaisesRegex(RuntimeError, "Tracker has not been initialized !"):
                f(*args)


class TestLogResult(Base):
    def test_forms_errors_files(self):
        run = self.start()
        sigoco.log_result("x", 1.5)
        sigoco.log_result("x", 2, step=10)
        sigoco.log_result("x", 3.0)  # step 11
        sigoco.log_result({"y": 1.0, "arr": [1, 2, 3]})
        sigoco.log_result(z=4.0, w="text")
        sigoco.log_result("t", (1, 2))
        with self.assertRaisesRegex(ValueError, "Ambiguous input"):
            sigoco.log_result("x", 1.0, path="f")
        with self.assertRaisesRegex(ValueError, "Missing data"):
            sigoco.log_result("x")
        with self.assertRaisesRegex(ValueError, "Invalid input format"):
            sigoco.log_result(5, 1.0)
        with self.assertRaises(ValueError):
            sigoco.log_result(path=os.path.join(self.spool, "missing.txt"))
        with self.assertRaises(ValueError):
            sigoco.log_result("x", 10 ** 400)  # past float64
        with self.assertRaises(ValueError):
            sigoco.log_result("x", 1.0, step="a")
        with self.assertRaises(TypeError):
            sigoco.log_result("v", object())  # PYON cannot carry it
        f = os.path.join(self.spool, "big.bin")
        data = os.urandom(2_500_000)  # three chunks
        with open(f, "wb") as fh:
            fh.write(data)
        sigoco.log_result("blob", path=f)
        sigoco.log_result("ptr", path=f, save_result=False)
        st = sigoco.close()
        self.assertEqual(st["errors"], [], st)
        r = self.c.get_run(run.id)
        s = self.c.series(run.id, "x", {})
        self.assertEqual(_support.column(s["step"]), [0, 10, 11])
        self.assertEqual(_support.column(s["value"]), [1.5, 2.0, 3.0])
        self.assertEqual(self.c.series(run.id, "arr", {})["values"], [[1, 2, 3]])
        self.assertEqual(r["latest"]["w"]["value"], "text")
        self.assertEqual(list(r["latest"]["t"]["value"]), [1, 2])
        a = {x["name"]: x for x in r["artifacts"]}["blob"]
        self.assertEqual(a["size"], len(data))
        self.assertEqual(a["sha256"], hashlib.sha256(data).hexdigest())
        got = b"".join(self.c.read_blob(a["sha256"], off, 1 << 20) for off in range(0, len(data), 1 << 20))
        self.assertEqual(got, data)
        self.assertEqual(r["latest"]["ptr"]["value"], {"path": os.path.realpath(f)})


class TestNumpy(Base):
    def test_numpy_values_when_numpy_is_there(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy is not installed (it is optional)")
        run = self.start()
        sigoco.log_param("n", np.int64(7))
        sigoco.log_param("grid", np.arange(6, dtype=np.int32).reshape(2, 3))
        for i in range(3):
            sigoco.log_result("s", np.float32(i + 0.5))  # numpy scalars are scalar points
        sigoco.log_result("a", np.linspace(0, 1, 5))
        st = sigoco.close()
        self.assertEqual(st["errors"], [])
        r = self.c.get_run(run.id)
        self.assertEqual(int(r["params"]["n"]), 7)
        self.assertEqual(np.asarray(r["params"]["grid"]).tolist(), [[0, 1, 2], [3, 4, 5]])
        self.assertEqual(_support.column(self.c.series(run.id, "s", {})["value"]), [0.5, 1.5, 2.5])
        vals = self.c.series(run.id, "a", {})["values"]
        self.assertEqual(np.asarray(vals[0]).tolist(), [0.0, 0.25, 0.5, 0.75, 1.0])


class TestArtifactResume(Base):
    def test_upload_resumes_where_the_server_stopped(self):
        data = os.urandom(3 * (1 << 20) + 17)
        sha = hashlib.sha256(data).hexdigest()
        self.assertEqual(self.c.write_blob(sha, 0, data[: 1 << 20]), 1 << 20)  # an upload cut after one chunk
        self.assertEqual(self.c.blob_state(sha), {"present": False, "received": 1 << 20})
        f = os.path.join(self.spool, "resume.bin")
        with open(f, "wb") as fh:
            fh.write(data)
        run = self.start()
        sigoco.log_artifact(f)
        st = sigoco.close()
        self.assertEqual((st["errors"], st["uploaded"]), ([], 1))
        # (write_blob takes only the offset the server holds: a restart from 0 would have been refused)
        self.assertTrue(self.c.blob_state(sha)["present"])
        got = b"".join(self.c.read_blob(sha, off, 1 << 20) for off in range(0, len(data), 1 << 20))
        self.assertEqual(got, data)
        self.assertEqual([(a["name"], a.get("result", False)) for a in self.c.get_run(run.id)["artifacts"]], [("resume.bin", False)])


class TestStatusLiveContext(Base):
    def test_status_progress_live_runs(self):
        run = self.start(name="live one")
        sigoco.set_status("running")
        sigoco.set_progress(42)
        with self.assertRaises(ValueError):
            sigoco.set_status("exploded")
        with self.assertRaises(ValueError):
            sigoco.set_progress(101)
        sigoco.log_result("x", 1.0)
        entry = _runs_entry(D.port, run.id)
        self.assertEqual(entry["name"], "live one")
        self.assertEqual(entry["project"], "pytest")
        self.assertIn(entry["status"], ("registered", "running"))
        sigoco.close("stopped", "enough")
        r = self.c.get_run(run.id)
        self.assertEqual((r["status"], r.get("message"), r["progress"]), ("stopped", "enough", 42.0))

    def test_decorators(self):
        @sigoco.count(name="solve")
        def f(x):
            return x + 1

        def g(x):
            return [x, x]

        g = sigoco.track(g, save_result=True, addr=D.addr, spool_dir=self.spool, project_name="decorated")
        self.assertEqual(f(1), 2)  # nothing tracked: only runs
        self.assertEqual(g(3), [3, 3])  # starts a run (none tracked), counts, logs the result
        run = sigoco.get_context()
        self.assertEqual(f(2), 3)
        self.assertEqual(g(4), [4, 4])
        sigoco.close()
        r = self.c.get_run(run.id)
        self.assertEqual(r["project"], "decorated")
        self.assertEqual(r["counts"]["solve"]["calls"], 1)
        self.assertEqual(r["counts"][g.__qualname__]["calls"], 2)
        self.assertEqual(self.c.series(run.id, g.__qualname__, {})["values"], [[3, 3], [4, 4]])

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_forked_child_leaves_the_parents_run_alone(self):
        run = self.start()
        sigoco.log_result("x", 1.0)
        pid = os.fork()
        if pid == 0:  # the child: logs, then exits through atexit
            try:
                sigoco.log_result("x", 2.0)
                sigoco.close()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        sigoco.log_result("x", 3.0)
        st = sigoco.close()
        self.assertEqual(st["errors"], [])
        self.assertEqual(_support.column(self.c.series(run.id, "x", {})["value"]), [1.0, 3.0])
        self.assertEqual(self.c.get_run(run.id)["status"], "finished")
        self.assertEqual(os.listdir(self.spool), [])

    def test_context_manager_and_set_context(self):
        with self.start() as run:
            self.assertIs(sigoco.get_context(), run)
            sigoco.log_result("x", 1.0)
        self.assertEqual(self.c.get_run(run.id)["status"], "finished")
        with self.assertRaises(RuntimeError):
            sigoco.get_context()
        with self.assertRaises(ZeroDivisionError):
            with self.start() as run2:
                1 / 0
        r = self.c.get_run(run2.id)
        self.assertEqual(r["status"], "failed")
        self.assertIn("ZeroDivisionError", r["message"])
        t = sigoco.Tracker("by hand", addr=D.addr, spool_dir=self.spool)
        sigoco.set_context(t)
        sigoco.add_tag("x")
        self.assertIs(sigoco.get_context(), t)
        sigoco.close()
        self.assertEqual(self.c.get_run(t.id)["project"], "by hand")


def _runs_entry(port, rid, timeout=20):
    """The run's entry in trackd's "runs" notifier, read as SiPyCo's
    Subscriber does (ARTIQ sync_struct): the init line, then mods."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"ARTIQ sync_struct\nruns\n")
        f = s.makefile("rb")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = f.readline()
            if not line:
                break
            mod = pyon.decode(line)
            if mod.get("action") == "init" and rid in mod["struct"]:
                return mod["struct"][rid]
            if mod.get("action") == "setitem" and mod.get("path") == [] and mod.get("key") == rid:
                return mod["value"]
        raise AssertionError("run %s never appeared in the runs notifier" % rid)
    finally:
        s.close()


if __name__ == "__main__":
    unittest.main()
