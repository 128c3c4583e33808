// Package sipycotest runs real SiPyCo (the Python library behind ARTIQ)
// against sigoco in integration tests, which run where a developer has a
// SiPyCo tree (see Setting up SiPyCo). CI has none: there the replay tests
// of rpc, syncstruct and logfwd check compatibility from the recordings of
// ../shared/sipyco-wire (copied into rpc/testdata, syncstruct/testdata and
// logfwd/testdata), and these tests skip. It is used only from the tests
// of rpc, syncstruct, logfwd, rpctool and internal/sipycosuite (SiPyCo's
// own test cases, through the [Suite] harness).
//
// Its own Python-to-Python tests check those recordings against the SiPyCo
// found (TestRPCServerMatchesRecording, TestSyncPythonToPython,
// TestLogPythonToPython): the recorded client bytes replayed to SiPyCo's
// servers (rpc_recorded_server.py has the recording's target classes,
// sync_publisher.py its notifiers), SiPyCo's Subscriber and LogForwarder
// driven through the recorded sessions. They read the repository's
// copies, and fail, not skip, when one is missing.
//
// # Setting up SiPyCo
//
// The tests need a python3 with numpy that can import sipyco. SiPyCo is not
// on the package registries these machines reach and its code is not kept
// beside the project: clone m-labs/sipyco yourself (never commit it) and
// point SIGOCO_SIPYCO_PATH at the tree. numpy comes from Debian:
//
//	apt-get install -y python3-numpy
//	export SIGOCO_SIPYCO_PATH=/path/to/sipyco
//
// [Python] looks for SiPyCo on PYTHONPATH=$SIGOCO_SIPYCO_PATH when that is
// set and not empty, else in python3's own packages; it tries
// $SIGOCO_PYTHON, python3 on PATH and /usr/bin/python3, in that order, and
// takes the first that imports sipyco and numpy. Without one, a test that
// needs SiPyCo is skipped, saying why, in CI too — unless
// SIGOCO_SIPYCO_PATH is set: then the developer asked for real SiPyCo and
// the test fails with the reason. `go test -short` skips.
//
// SiPyCo since m-labs/sipyco f465349 needs numpy 1.25 (numpy.dtypes) while
// Debian 12 ships 1.24; scripts/sipycotest_compat.py adds that one alias
// on older numpy before SiPyCo is imported. No SiPyCo code is changed.
//
// # Use
//
// A Python client against a Go server (one-shot script, JSON summary):
//
//	env := sipycotest.Python(t) // skips, saying why, when SiPyCo is missing
//	var out struct{ FailedSteps []string `json:"failed_steps"` }
//	env.RunJSON(t, &out, sipycotest.RPCClient, "127.0.0.1", port, "lda", "--client", "async")
//
// A Go client against a Python server (stopped by t.Cleanup):
//
//	srv := env.Serve(t, sipycotest.RPCServer) // srv.Addr is "127.0.0.1:PORT"
//	pub := env.Serve(t, sipycotest.SyncPublisher)
//	pub.Send(t, "mods")
//	pub.Expect(t, "ok mods")
//
// A long-running Python client whose events the test reads line by line:
//
//	sub := env.Start(t, sipycotest.SyncSubscriber, host, port, "state", "--until", want)
//	sub.Expect(t, `{"event": "init"`)
//	// ... change the Go publisher ...
//	var done struct{ Reason string `json:"reason"` }
//	sub.Wait(t).JSON(t, &done)
//
// # Concurrency
//
// An [Env] is a plain value, safe to copy and to use from parallel tests.
// A [Proc] belongs to the test that started it: its methods may be called
// from that test's goroutine (or one goroutine at a time); it is stopped by
// t.Cleanup, which closes its stdin, waits a grace period, kills it if it
// is still running and waits for it, so neither processes nor goroutines
// outlive the test.
package sipycotest
