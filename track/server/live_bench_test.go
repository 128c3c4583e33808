package server_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// BenchmarkOpenRuns measures what many open runs cost the live state: the
// "runs" snapshot every new dashboard receives, the heap the server holds
// (after a GC, over an empty server's) and its run notifiers. The runs are
// made once (a batch each, in-process over SQLite); b.N is not used.
//
//	go test ./track/server -run '^$' -bench OpenRuns -benchtime 1x
func BenchmarkOpenRuns(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			srv, err := server.New(ctx, st, server.Options{LiveInterval: time.Hour, HeartbeatTimeout: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			heap0 := heapAfterGC()
			for i := range n {
				bt := startRecords(fmt.Sprintf("run%07d", i))
				if _, err := srv.Ingest(ctx, &bt); err != nil {
					b.Fatal(err)
				}
				if i%1000 == 999 {
					srv.Live().Flush(ctx) // as the live goroutine would
				}
			}
			srv.Live().Flush(ctx)
			var snapshot int
			srv.Live().Runs().Read(func(tree any) {
				enc, err := store.EncodeValue(tree)
				if err != nil {
					b.Fatal(err)
				}
				snapshot = len(enc)
			})
			notifiers := 0
			for _, name := range srv.Publisher().Names() {
				if strings.HasPrefix(name, "run/") {
					notifiers++
				}
			}
			heap := heapAfterGC() - heap0
			b.ReportMetric(float64(snapshot), "runs-snapshot-bytes")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(notifiers), "run-notifiers")
		})
	}
}

func heapAfterGC() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
