package sipycotest

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// The scripts, by file name. Each one's docstring documents its arguments
// and output.
const (
	RPCServer         = "rpc_server.py"          // pc_rpc Server with targets lda, aux (and probe)
	RPCRecorded       = "rpc_recorded_server.py" // pc_rpc Server with the recording's targets (main, aux, fact; --single: solo)
	RPCCall           = "rpc_call.py"            // Client calling the methods given as JSON, one JSON line per call
	RPCClient         = "rpc_client.py"          // Client / AsyncioClient / BestEffortClient sequence, JSON summary
	RPCTool           = "rpctool.py"             // python3 -m sipyco.sipyco_rpctool
	SyncPublisher     = "sync_publisher.py"      // Publisher with notifiers state and other, stdin commands
	SyncSubscriber    = "sync_subscriber.py"     // Subscriber, JSON events and final replica
	LogForwarder      = "log_forwarder.py"       // LogForwarder sending the recorded records
	LogServer         = "log_server.py"          // logs.Server printing records as JSON lines
	Suite             = "sipyco_suite.py"        // one of SiPyCo's own unittest cases against sigoco peers (internal/sipycosuite)
	BroadcastServer   = "broadcast_server.py"    // Broadcaster, stdin commands wait/send
	BroadcastReceiver = "broadcast_receiver.py"  // Receiver printing "msg PYON" lines
)

const probeScript = "probe.py"

//go:embed scripts/*.py
var scriptFS embed.FS

// writeScripts copies the embedded scripts into dir, so they run from any
// package's test binary whatever its working directory.
func writeScripts(dir string) error {
	files, err := fs.Glob(scriptFS, "scripts/*.py")
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := scriptFS.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
