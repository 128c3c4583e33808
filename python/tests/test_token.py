"""The client against trackd with an access file (docs/security.md): the
token travels on the "SIGOCO token" line of pc_rpc and logging; without it
trackd closes the connection."""

import os
import shutil
import tempfile
import unittest

import _support
import sigoco

TOKEN = "py-runner-token-0123456789"


class TestToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sigoco-pytest-access-")
        access = os.path.join(cls.dir, "access")
        with open(access, "w") as f:
            f.write("token pyrunner runner %s\n" % TOKEN)
        os.chmod(access, 0o600)
        cls.d = _support.Trackd(args=["--access", access]).start()

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


if __name__ == "__main__":
    unittest.main()
