"""The client against trackd with an access file (docs/security.md): the
token travels on the "SIGOCO token" line of pc_rpc and logging; without it
trackd closes the connection."""

import os
import shutil
import tempfile
import unittest

import _support
import sigoco.rpc
import sigoco.spool
import sigoco

TOKEN = "py-runner-token-0123456789"
OTHER = "py-other-token-0123456789"
ADMIN = "py-admin-token-0123456789"


class TestToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sigoco-pytest-access-")
        access = os.path.join(cls.dir, "access")
        with open(access, "w") as f:
            f.write("token pyrunner runner %s\n" % TOKEN)
            f.write("token pyother runner %s\n" % OTHER)
            f.write("token pyadmin admin %s\n" % ADMIN)
        os.chmod(access, 0o600)
        cls.d = _support.Trackd(args=["--access", access, "--max-open-runs", "2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.spool = tempfile.mkdtemp(prefix="sigoco-pytest-spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)

    def test_without_a_token_refused(self):
        with self.assertRaises(ConnectionError):
            self.d.client().call("list_runs", {})

    def test_run_and_logs_with_a_token(self):
        c = self.d.client(token=TOKEN)
        self.addCleanup(c.close)
        t = sigoco.track(addr=self.d.addr, spool_dir=self.spool, project_name="token", token=TOKEN)
        import logging
        log = logging.getLogger("token-test")
        log.setLevel(logging.INFO)
        h = sigoco.LogHandler()
        log.addHandler(h)
        self.addCleanup(log.removeHandler, h)
        sigoco.log_param("p", 1)
        log.info("hello with a token")
        rid = t.id
        sigoco.close()
        r = c.get_run(rid)
        self.assertEqual(r["params"]["p"], 1)
        self.assertEqual(r["metadata"]["owner"], "pyrunner")
        logs = _support.wait_for(lambda: c.logs({"run": rid})["logs"], what="the run's log")
        self.assertIn("hello with a token", [x["message"] for x in logs])

    def test_run_credential(self):
        """The batch that creates a run hands out its write credential,
        kept in the spool directory (0600); a replay by a process with
        another identity's token writes the run with it; with it alone a
        process resumes the run, and it reaches no other run."""
        admin = self.d.client(token=ADMIN)
        self.addCleanup(admin.close)
        run = sigoco.Run("pytest", "cred", addr=self.d.addr, spool_dir=self.spool, token=TOKEN, metadata=False)
        run.log_param("p", 1)
        self.assertTrue(run.flush(20))
        path = os.path.join(self.spool, run.id, sigoco.spool.CREDENTIAL_FILE)
        with open(path) as f:
            cred = f.read().strip()
        self.assertTrue(cred.startswith("sgr1." + run.id + "."), cred)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertNotIn(cred, str(admin.get_run(run.id)["metadata"]))
        other = sigoco.Run("pytest", "other", addr=self.d.addr, spool_dir=tempfile.mkdtemp(dir=self.spool), token=OTHER, metadata=False)
        other.log_param("o", 1)
        self.assertTrue(other.flush(20))
        other.close()
        # The credential alone writes the run, and no other.
        c = self.d.client(token=cred)
        self.addCleanup(c.close)
        c.add_tag(run.id, "by-credential")
        with self.assertRaises(sigoco.RemoteError) as e:
            c.add_tag(other.id, "forged")
        self.assertIn("auth: forbidden", str(e.exception))
        run.close()
        # A process holding only the credential resumes the run.
        again = sigoco.Run("pytest", "cred", run_id=run.id, addr=self.d.addr, spool_dir=tempfile.mkdtemp(dir=self.spool),
                           credential=cred, metadata=False)
        again.log_param("resumed", 2)
        again.close()
        r = admin.get_run(run.id)
        self.assertEqual(r["params"]["resumed"], 2)
        self.assertIn("by-credential", r["tags"])
        self.assertNotIn("forged", admin.get_run(other.id)["tags"])
        # A wrong credential is refused at the handshake.
        with self.assertRaises(sigoco.rpc.AuthError):
            self.d.client(token=cred[:-4] + "AAAA")

    def test_open_runs_quota(self):
        """--max-open-runs 2: the third open run of one identity is refused
        with a quota error the client reports; ending one makes room."""
        runs = []
        for i in range(2):
            r = sigoco.Run("pytest", "quota", addr=self.d.addr, spool_dir=self.spool, token=OTHER, metadata=False)
            r.log_param("i", i)
            self.assertTrue(r.flush(20))
            self.assertEqual(r.stats()["errors"], [])
            runs.append(r)
        third = sigoco.Run("pytest", "quota", addr=self.d.addr, spool_dir=self.spool, token=OTHER, metadata=False)
        third.log_param("i", 3)
        third.flush(20)
        errs = third.stats()["errors"]
        self.assertTrue(errs and "quota exceeded" in errs[0] and "--max-open-runs" in errs[0], errs)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            third.close(timeout=2)
        runs[0].close()
        again = sigoco.Run("pytest", "quota", addr=self.d.addr, spool_dir=self.spool, token=OTHER, metadata=False)
        again.log_param("i", 4)
        self.assertTrue(again.flush(20))
        self.assertEqual(again.stats()["errors"], [])
        again.close()
        runs[1].close()


if __name__ == "__main__":
    unittest.main()
