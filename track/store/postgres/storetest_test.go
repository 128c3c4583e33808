package postgres

import (
	"context"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
	"github.com/sigoco/sigoco/track/store/storetest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// openStore opens a store on a new database of the test server.
func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	u := pgtest.Database(t)
	if opts.BlobDir == "" {
		opts.BlobDir = t.TempDir()
	}
	s, err := Open(context.Background(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, Options{Limits: storetest.Limits})
	})
}
