package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// The NATS peer: an embedded github.com/nats-io/nats-server/v2 on loopback
// (in this process, as sigoco's servers are) and github.com/nats-io/nats.go
// clients, each on its own connection as separate programs would be, with
// their default options.
//
// Request/reply (rpc.parallel.seq.vs_nats, rpc.parallel.par64.vs_nats): a responder
// subscribed to "bench.add" on its own connection answers each request
// (two little-endian int64 operands, 16 bytes) with their sum (8 bytes);
// the callers share one connection and use nc.Request, which waits on one
// shared reply subscription. Raw bytes, no encoding: the peer only moves
// bytes where sigoco encodes, decodes and dispatches by reflection. One
// subscription runs its callbacks one at a time, as sigoco serialises
// calls per target by default.

// natsServer is an embedded NATS server; jetStream enables JetStream with
// a temporary store directory (removed by stop).
type natsServer struct {
	srv *server.Server
	dir string
}

func startNATSServer(jetStream bool) (*natsServer, error) {
	opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
	ns := &natsServer{}
	if jetStream {
		dir, err := os.MkdirTemp("", "bench-nats-")
		if err != nil {
			return nil, err
		}
		ns.dir, opts.JetStream, opts.StoreDir = dir, true, dir
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		ns.stop()
		return nil, err
	}
	ns.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		ns.stop()
		return nil, errors.New("nats: the embedded server did not start")
	}
	return ns, nil
}

func (ns *natsServer) url() string { return ns.srv.ClientURL() }

func (ns *natsServer) connect() (*nats.Conn, error) {
	return nats.Connect(ns.url())
}

// stop shuts the server down and waits; it is idempotent.
func (ns *natsServer) stop() {
	if ns.srv != nil {
		ns.srv.Shutdown()
		ns.srv.WaitForShutdown()
		ns.srv = nil
	}
	if ns.dir != "" {
		os.RemoveAll(ns.dir)
		ns.dir = ""
	}
}

// natsRPC is the request/reply peer.
type natsRPC struct {
	ns        *natsServer
	responder *nats.Conn
	caller    *nats.Conn
}

func startNATSRPC() (*natsRPC, error) {
	ns, err := startNATSServer(false)
	if err != nil {
		return nil, err
	}
	p := &natsRPC{ns: ns}
	if p.responder, err = ns.connect(); err != nil {
		p.close()
		return nil, err
	}
	_, err = p.responder.Subscribe("bench.add", func(m *nats.Msg) {
		if len(m.Data) != 16 {
			m.Respond(nil)
			return
		}
		sum := binary.LittleEndian.Uint64(m.Data) + binary.LittleEndian.Uint64(m.Data[8:])
		var out [8]byte
		binary.LittleEndian.PutUint64(out[:], sum)
		m.Respond(out[:])
	})
	if err == nil {
		err = p.responder.Flush()
	}
	if err != nil {
		p.close()
		return nil, err
	}
	if p.caller, err = ns.connect(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *natsRPC) close() {
	if p.caller != nil {
		p.caller.Close()
	}
	if p.responder != nil {
		p.responder.Close()
	}
	p.ns.stop()
}

func (p *natsRPC) add() error {
	var req [16]byte
	binary.LittleEndian.PutUint64(req[:], 1)
	binary.LittleEndian.PutUint64(req[8:], 2)
	m, err := p.caller.Request("bench.add", req[:], 10*time.Second)
	if err != nil {
		return err
	}
	if len(m.Data) != 8 || binary.LittleEndian.Uint64(m.Data) != 3 {
		return fmt.Errorf("nats: wrong sum (%d bytes)", len(m.Data))
	}
	return nil
}
