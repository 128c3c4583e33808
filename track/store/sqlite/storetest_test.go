package sqlite

import (
	"testing"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/storetest"
)

// TestConformance runs the store conformance suite against SQLite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, Options{Limits: storetest.Limits})
	})
}
