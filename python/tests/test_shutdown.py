"""shutdown_server (SimplyPy's ServerCom.shutdown_server) against trackd
with an access file: a runner is refused (PermissionError) and trackd
serves on; an admin's call makes trackd exit 0."""

import os
import shutil
import tempfile
import unittest

import _support
import sigoco

RUNNER = "py-shutdown-runner-0123456789"
ADMIN = "py-shutdown-admin-0123456789"


class TestShutdownServer(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sigoco-pytest-shutdown-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        access = os.path.join(self.dir, "access")
        with open(access, "w") as f:
            f.write("token pyrunner runner %s\ntoken pyadmin admin %s\n" % (RUNNER, ADMIN))
        os.chmod(access, 0o600)
        self.d = _support.Trackd(args=["--access", access]).start()
        self.addCleanup(self.d.cleanup)

    def test_runner_refused_admin_stops_trackd(self):
        with self.assertRaises(sigoco.RemoteError) as cm:
            sigoco.shutdown_server(self.d.addr, token=RUNNER)
        self.assertEqual(cm.exception.cls, "PermissionError")
        with self.d.client(token=RUNNER) as c:
            self.assertIn("runs", c.list_runs({}))
        sigoco.shutdown_server(self.d.addr, token=ADMIN)
        self.assertEqual(self.d.proc.wait(30), 0)
        with open(os.path.join(self.d.data, "trackd.log"), "rb") as f:
            self.assertIn(b"shutdown_server called by pyadmin", f.read())


if __name__ == "__main__":
    unittest.main()
