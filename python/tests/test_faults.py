"""trackd down, killed, restarted: every record stored exactly once."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

import _support
import sigoco


class Base(unittest.TestCase):
    def setUp(self):
        self.spool = tempfile.mkdtemp(prefix="sigoco-pytest-spool-")
        self.d = _support.Trackd()
        self.addCleanup(self.d.cleanup)
        self.addCleanup(shutil.rmtree, self.spool, True)

    def series(self, rid, key):
        with self.d.client(timeout=60) as c:
            return c.series(rid, key, {})


class TestKill9(Base):
    def test_100k_results_through_kill9_stored_once(self):
        self.d.start()
        run = sigoco.Run("pytest", "kill -9", addr=self.d.addr, spool_dir=self.spool, metadata=False, flush_interval=0.02,
                         batch_size=5000)
        n = 100_000
        for i in range(n // 2):
            run.log_result("x", float(i), i)
        time.sleep(0.05)  # batches on the wire
        self.d.kill()
        for i in range(n // 2, 3 * n // 4):
            run.log_result("x", float(i), i)
        time.sleep(0.3)  # sent into a dead server: spooled
        self.d.start()
        for i in range(3 * n // 4, n):
            run.log_result("x", float(i), i)
        st = run.close(timeout=120)
        self.assertEqual(st["errors"], [])
        self.assertEqual(st["acked"], st["logged"])
        self.assertGreater(st["spooled"], 0, st)  # the kill was felt: batches went through the spool
        self.assertGreater(st["replayed"], 0, st)
        s = self.series(run.id, "x")
        self.assertEqual(s["len"], n)
        steps = _support.column(s["step"])
        self.assertEqual(steps, list(range(n)))
        self.assertEqual(_support.column(s["value"]), [float(i) for i in range(n)])
        seqs = _support.column(s["seq"])
        self.assertEqual(len(set(seqs)), n)
        with self.d.client() as c:
            r = c.get_run(run.id)
        self.assertEqual(r["status"], "finished")
        self.assertEqual(r["high_seq"], st["logged"])
        self.assertEqual(os.listdir(self.spool), [])


class TestDownFromStart(Base):
    def test_spooled_then_replayed_by_hand_once(self):
        t0 = time.monotonic()
        run = sigoco.Tracker("offline", addr=self.d.addr, spool_dir=self.spool, close_timeout=1.0)
        sigoco.set_context(run)
        sigoco.log_param("p", 1)
        for i in range(1000):
            sigoco.log_result("x", i * 1.0)
        f = os.path.join(self.spool, "..", os.path.basename(self.spool) + "-file.txt")
        with open(f, "w") as fh:
            fh.write("kept while down\n")
        self.addCleanup(os.remove, f)
        sigoco.log_result(path=f)
        st = sigoco.close()
        self.assertLess(time.monotonic() - t0, 10, "close waits at most close_timeout (+ a little)")
        self.assertEqual(st["acked"], 0)
        rundir = os.path.join(self.spool, run.id)
        self.assertTrue(os.path.exists(os.path.join(rundir, "spool.pyon")))
        self.assertEqual(len(os.listdir(os.path.join(rundir, "blobs"))), 1)
        copy = self.spool + "-copy"
        shutil.copytree(self.spool, copy)
        self.addCleanup(shutil.rmtree, copy, True)
        self.d.start()
        env = dict(os.environ, PYTHONPATH=_support.PYDIR)
        p = subprocess.run([sys.executable, "-m", "sigoco", "replay", "--addr", self.d.addr, self.spool], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        self.assertIn(run.id, p.stdout.decode())
        self.assertEqual(os.listdir(self.spool), [])
        # The same spool again: every record is already there, stored once.
        p = subprocess.run([sys.executable, "-m", "sigoco", "replay", "--addr", self.d.addr, copy], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        self.assertIn(" 0 records stored", p.stdout.decode())
        s = self.series(run.id, "x")
        self.assertEqual(s["len"], 1000)
        with self.d.client() as c:
            r = c.get_run(run.id)
            self.assertEqual(r["status"], "finished")
            self.assertEqual(r["params"], {"p": 1})
            a = r["artifacts"][0]
            self.assertTrue(a["present"])
            self.assertEqual(c.read_blob(a["sha256"], 0, 100), b"kept while down\n")

    def test_next_run_replays_what_an_earlier_one_left(self):
        first = sigoco.Run("pytest", "first", addr=self.d.addr, spool_dir=self.spool, metadata=False, close_timeout=0.5)
        first.log_result("x", 1.0)
        first.close()
        self.d.start()
        second = sigoco.Run("pytest", "second", addr=self.d.addr, spool_dir=self.spool, metadata=False)
        second.log_result("x", 2.0)
        second.close(timeout=60)
        def replayed():
            with self.d.client() as c:
                try:
                    return c.series(first.id, "x", {})["len"] == 1
                except sigoco.RemoteError:
                    return False  # not there yet: it is replayed on a thread of its own
        _support.wait_for(replayed, what="the first run replayed")
        _support.wait_for(lambda: os.listdir(self.spool) == [], what="an empty spool directory")


class TestExit(Base):
    SCRIPT = """
import sys, time
import sigoco
sigoco.track(project_name="exit", addr=sys.argv[1], spool_dir=sys.argv[2], close_timeout=float(sys.argv[3]))
print(sigoco.get_context().id, flush=True)
sigoco.log_result("x", 1.0)
if sys.argv[4] == "raise":
    raise ValueError("the simulation blew up")
"""

    def script(self, *args):
        env = dict(os.environ, PYTHONPATH=_support.PYDIR)
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-c", self.SCRIPT, self.d.addr, self.spool] + list(args), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return p, time.monotonic() - t0

    def test_uncaught_exception_fails_the_run(self):
        self.d.start()
        p, _ = self.script("30", "raise")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"ValueError", p.stderr)
        with self.d.client() as c:
            r = c.get_run(p.stdout.decode().strip())
        self.assertEqual(r["status"], "failed")
        self.assertEqual(r["message"], "ValueError: the simulation blew up")
        self.assertEqual(r["latest"]["x"]["value"], 1.0)

    def test_exit_while_down_is_prompt_and_says_what_is_spooled(self):
        p, took = self.script("1", "ok")  # trackd never started
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertLess(took, 15)  # close_timeout 1 s, plus interpreter start on a busy machine
        rid = p.stdout.decode().strip()
        self.assertIn(("run %s: the server (%s) has not taken" % (rid, self.d.addr)).encode(), p.stderr)
        self.assertIn(b"python -m sigoco replay", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.spool, rid, "spool.pyon")))


class TestUnavailable(Base):
    """trackd below its free-space watermark (--min-free absurdly high)
    answers a new run and write_blob with an unavailable error (an OSError,
    "store: unavailable ..."): the client keeps the batches, spools them and
    sends them again with backoff, as when the server is down — nothing is
    reported refused. Restarted with --min-free 0 on the same data, every
    record is stored exactly once."""

    def restart_with_space(self):
        self.d.stop()
        self.d.args = ["--min-free", "0"]
        self.d.start()

    def test_live_run_spools_and_retries_then_stores_once(self):
        self.d.args = ["--min-free", "1000000T"]
        self.d.start()
        f = self.spool + "-artifact.txt"
        with open(f, "w") as fh:
            fh.write("kept while the disk was full\n")
        self.addCleanup(os.remove, f)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = sigoco.Run("pytest", "unavailable", addr=self.d.addr, spool_dir=self.spool, metadata=False,
                             flush_interval=0.02, batch_size=100)
            run.log_param("p", 1)
            for i in range(500):
                run.log_result("x", float(i), i)
            run.log_artifact(f, "a.txt")
            _support.wait_for(lambda: run.stats()["spooled"] > 0 and os.path.getsize(os.path.join(run.dir, "spool.pyon")) > 0,
                              what="batches spooled")
            time.sleep(1.0)  # a few retries against the full store
            st = run.stats()
            self.assertEqual(st["errors"], [], st)
            self.assertEqual(st.get("rejected", 0), 0, st)
            self.assertEqual(st["acked"], 0, st)
            self.assertEqual(st["uploaded"], 0, st)
            self.restart_with_space()
            for i in range(500, 1000):
                run.log_result("x", float(i), i)
            st = run.close(timeout=60)
        refused = [str(w.message) for w in caught if issubclass(w.category, sigoco.SigocoWarning)]
        self.assertEqual(refused, [])
        self.assertEqual(st["errors"], [], st)
        self.assertEqual(st["acked"], st["logged"], st)
        self.assertGreater(st["replayed"], 0, st)
        self.assertEqual(st["uploaded"], 1, st)
        s = self.series(run.id, "x")
        self.assertEqual(s["len"], 1000)
        self.assertEqual(_support.column(s["step"]), list(range(1000)))
        self.assertEqual(len(set(_support.column(s["seq"]))), 1000)
        with self.d.client() as c:
            r = c.get_run(run.id)
            self.assertEqual(r["status"], "finished")
            self.assertEqual(r["params"], {"p": 1})
            self.assertEqual(r["high_seq"], st["logged"])
            a = r["artifacts"][0]
            self.assertTrue(a["present"])
            self.assertEqual(c.read_blob(a["sha256"], 0, 100), b"kept while the disk was full\n")
        self.assertEqual(os.listdir(self.spool), [])

    def test_replay_keeps_the_spool_while_unavailable(self):
        self.d.args = ["--min-free", "1000000T"]
        self.d.start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = sigoco.Run("pytest", "unavailable replay", addr=self.d.addr, spool_dir=self.spool, metadata=False,
                             close_timeout=1.0)
            for i in range(300):
                run.log_result("x", float(i), i)
            st = run.close()
        self.assertEqual([str(w.message) for w in caught if issubclass(w.category, sigoco.SigocoWarning)], [])
        self.assertEqual(st["errors"], [], st)
        self.assertEqual(st["acked"], 0, st)
        sp = os.path.join(self.spool, run.id, "spool.pyon")
        size = os.path.getsize(sp)
        self.assertGreater(size, 0)
        res = sigoco.replay(self.spool, addr=self.d.addr)
        self.assertEqual(len(res), 1, res)
        self.assertIn("store: unavailable", res[0]["error"] or "", res)
        self.assertEqual(res[0]["rejected"], 0, res)
        self.assertEqual(os.path.getsize(sp), size)  # kept, whole
        self.restart_with_space()
        res = sigoco.replay(self.spool, addr=self.d.addr)
        self.assertIsNone(res[0]["error"], res)
        self.assertEqual(res[0]["rejected"], 0, res)
        self.assertEqual(self.series(run.id, "x")["len"], 300)
        self.assertEqual(os.listdir(self.spool), [])
        # Once more from nothing: stored once.
        self.assertEqual(sigoco.replay(self.spool, addr=self.d.addr), [])
        with self.d.client() as c:
            self.assertEqual(c.get_run(run.id)["status"], "finished")


class TestHungServer(Base):
    def test_close_gives_up_on_a_server_that_never_answers(self):
        """A server that takes the connection and then never answers: the
        sender is stuck in a call; close() leaves within its deadline with
        every record in the spool, and a replay stores them."""
        import socket
        import threading
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        conns = []

        def serve():
            while True:
                try:
                    c, _ = ls.accept()
                except OSError:
                    return
                conns.append(c)
                f = c.makefile("rb")
                f.readline()
                c.sendall(b'{"targets":["tracker"],"description":null,"features":["pyon_v2"]}\n')
                f.readline()
                c.sendall(b'{"__jsonclass__":["set",[["log_batch"]]]}\n')  # then silence

        threading.Thread(target=serve, daemon=True).start()
        self.addCleanup(ls.close)
        addr = "127.0.0.1:%d" % ls.getsockname()[1]
        run = sigoco.Run("pytest", "hung", addr=addr, spool_dir=self.spool, metadata=False, call_timeout=60)
        for i in range(1000):
            run.log_result("x", float(i), i)
        time.sleep(0.3)  # the first batch is on the wire, unanswered
        for i in range(1000, 2000):
            run.log_result("x", float(i), i)
        t0 = time.monotonic()
        st = run.close(timeout=1)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(st["acked"], 0)
        for c in conns:
            c.close()
        self.d.start()
        res = sigoco.replay(self.spool, addr=self.d.addr)
        self.assertEqual([(r["run"], r["error"]) for r in res], [(run.id, None)])
        self.assertEqual(self.series(run.id, "x")["len"], 2000)
        self.assertEqual(os.listdir(self.spool), [])


class TestResume(Base):
    def test_resumed_run_continues_its_sequence(self):
        self.d.start()
        a = sigoco.Run("pytest", "resume", addr=self.d.addr, spool_dir=self.spool, metadata=False)
        for i in range(10):
            a.log_result("x", float(i), i)
        a.set_status("running")
        a.flush(30)
        # the process "restarts" (no close): a new client continues the run
        a._abandoned = True
        a._lock.release()
        a._spool.close()
        if a._client is not None:
            a._client.close()
        b = sigoco.Run(addr=self.d.addr, spool_dir=self.spool + "-b", run_id=a.id, metadata=False)
        self.addCleanup(shutil.rmtree, self.spool + "-b", True)
        for i in range(10, 20):
            b.log_result("x", float(i), i)
        st = b.close(timeout=60)
        self.assertEqual(st["errors"], [])
        s = self.series(a.id, "x")
        self.assertEqual(_support.column(s["step"]), list(range(20)))


class TestHeartbeat(Base):
    def test_idle_run_is_not_crashed(self):
        self.d.args = ["--heartbeat-timeout", "1s"]
        self.d.start()
        run = sigoco.Run("pytest", "idle", addr=self.d.addr, spool_dir=self.spool, metadata=False)
        run.log_result("x", 1.0)
        self.assertTrue(run.flush(30))
        time.sleep(3)  # three heartbeat timeouts without a record
        with self.d.client() as c:
            self.assertEqual(c.get_run(run.id)["status"], "running")  # its first result made it running; not crashed
        run.close(timeout=30)


class TestTLS(unittest.TestCase):
    def test_client_certificates(self):
        openssl = shutil.which("openssl")
        if openssl is None:
            self.skipTest("openssl is not installed: no certificates")
        d = tempfile.mkdtemp(prefix="sigoco-pytest-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        for who in ("server", "client", "stranger"):
            subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-subj", "/CN=" + who, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2",
                            "-keyout", os.path.join(d, who + ".key"), "-out", os.path.join(d, who + ".pem")],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p = lambda n: os.path.join(d, n)  # noqa: E731
        srv = _support.Trackd(args=["--tls-cert", p("server.pem"), "--tls-key", p("server.key"), "--tls-peer-cert", p("client.pem")])
        srv.start()
        self.addCleanup(srv.cleanup)
        spool_dir = os.path.join(d, "spool")
        run = sigoco.Run("pytest", "tls", addr=srv.addr, spool_dir=spool_dir, metadata=False,
                         tls_cert=p("client.pem"), tls_key=p("client.key"), tls_peer_cert=p("server.pem"))
        run.log_result("x", 1.0)
        import logging
        log = logging.getLogger("pytest.tls")
        log.addHandler(sigoco.LogHandler(run=run))
        log.warning("over TLS too")
        self.assertTrue(run.flush(30))
        ctx = sigoco.ssl_context(p("client.pem"), p("client.key"), p("server.pem"))
        with srv.client(ssl_context=ctx) as c:
            logs = _support.wait_for(lambda: c.logs({"run": run.id})["logs"], what="the log record over TLS")
        self.assertEqual(logs[0]["message"], "over TLS too")
        st = run.close(timeout=30)
        self.assertEqual(st["acked"], st["logged"])
        with srv.client(ssl_context=ctx) as c:
            self.assertEqual(c.series(run.id, "x", {})["len"], 1)
        bad = sigoco.ssl_context(p("stranger.pem"), p("stranger.key"), p("server.pem"))
        with self.assertRaises(OSError):
            with srv.client(ssl_context=bad) as c:
                c.get_run(run.id)


class TestFailover(Base):
    def test_first_address_dead_second_used(self):
        """A comma-separated address list: the first node is gone (nothing
        listens), the run reports to the second; replay takes the list too."""
        self.d.start()
        dead = "127.0.0.1:%d" % _support.free_port()
        run = sigoco.Run("pytest", "failover", addr=dead + "," + self.d.addr, spool_dir=self.spool, metadata=False)
        for i in range(1000):
            run.log_result("x", float(i), i)
        st = run.close(timeout=60)
        self.assertEqual(st["errors"], [])
        self.assertEqual(st["spooled"], 0, st)  # the dead node cost a dial, not a spool
        self.assertEqual(self.series(run.id, "x")["len"], 1000)
        self.assertEqual(run.addr, dead + "," + self.d.addr)
        # A run that knew only the dead node spools; replay given the list
        # reaches the live one.
        off = sigoco.Run("pytest", "offline", addr=dead, spool_dir=self.spool, metadata=False)
        for i in range(10):
            off.log_result("y", float(i), i)
        self.assertEqual(off.close(timeout=1)["acked"], 0)
        res = sigoco.replay(self.spool, addr=" %s , %s" % (dead, self.d.addr))
        self.assertEqual([(r["run"], r["error"]) for r in res], [(off.id, None)])
        self.assertEqual(self.series(off.id, "y")["len"], 10)
        with self.assertRaises(ValueError):
            sigoco.Run("pytest", "bad", addr=" , ", spool_dir=self.spool, metadata=False)


if __name__ == "__main__":
    unittest.main()
