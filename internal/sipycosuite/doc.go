// Package sipycosuite is test-only: it runs SiPyCo's own unittest cases
// (sipyco/test/test_pc_rpc.py, test_sync_struct.py, test_logging.py,
// test_rpctool.py, with generic_rpc.py) against sigoco peers. Each case is
// a Go subtest of TestSiPyCoSuite: the Go test starts the sigoco peer the
// case needs (an rpc server with SiPyCo's echo target, a Publisher made to
// make the same changes as the case's Python Notifier, the log server,
// the forwarder), and internal/sipycotest's sipyco_suite.py runs the case
// with SiPyCo's own peer replaced by it. The SiPyCo tree is not changed.
//
// docs/sipyco.md ("SiPyCo's own tests against sigoco") lists every case,
// whether it passes, and why a case is skipped.
package sipycosuite
