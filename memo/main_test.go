package memo

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the helper processes of the cross-process tests when
// MEMO_HELPER is set (the test binary re-executes itself), else the tests
// with a goroutine-leak check.
func TestMain(m *testing.M) {
	if role := os.Getenv("MEMO_HELPER"); role != "" {
		os.Exit(helperMain(role))
	}
	// database/sql's opener goroutine stays until its DB is closed by GC.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}
