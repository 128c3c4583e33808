package track_test

import (
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire"
)

// TestMutualTLS: a run and a reader over TLS with client certificates;
// a client without one is refused.
func TestMutualTLS(t *testing.T) {
	srvCert, cliCert := testcert.New(t, "trackd"), testcert.New(t, "run")
	stls, err := wire.TLSConfig{CertFile: srvCert.CertFile, KeyFile: srvCert.KeyFile, PeerCertFile: cliCert.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	ctls, err := wire.TLSConfig{CertFile: cliCert.CertFile, KeyFile: cliCert.KeyFile, PeerCertFile: srvCert.CertFile}.Client("")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "", "", server.Options{TLS: stls})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, TLS: ctls, SpoolDir: t.TempDir(), NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("secure", true)
	run.LogResult("x", 1.0, 0)
	run.Logger().Info("over TLS")
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{TLS: ctls})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil || info.Status != store.StatusFinished || info.Params["secure"] != true {
		t.Fatalf("%v %+v", err, info)
	}
	noCert, err := wire.TLSConfig{PeerCertFile: srvCert.CertFile}.Client("")
	if err != nil {
		t.Fatal(err)
	}
	if rd2, err := track.Open(ctxT(t, 5*time.Second), ts.addr, track.OpenOptions{TLS: noCert}); err == nil {
		rd2.Close()
		t.Fatal("a client without a certificate was served")
	}
}
