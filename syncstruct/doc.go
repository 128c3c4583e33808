// Package syncstruct keeps live replicas of a mutable tree on any number of
// Go programs and browsers, in the manner of SiPyCo's sync_struct.
//
// A tree is dicts, lists and scalar values nested arbitrarily, held in
// normal form (see Normalize): map[string]any, []any, int64, float64,
// string, []byte, bool, nil, and the PYON types of package pyon. A dict
// with a key that is not a string (an int, a tuple, ...), which SiPyCo
// allows, is a pyon.Dict.
//
// Its owner changes it only through a Notifier, which records each change
// as a Mod — SiPyCo's mod dictionaries (init, append, insert, pop, setitem,
// delitem, each with a path from the root) plus a sequence number. A
// Publisher serves notifiers by name; a Subscriber keeps a replica of one,
// applying mods with Apply.
//
//	n, _ := syncstruct.NewNotifier(map[string]any{"runs": map[string]any{}}, syncstruct.NotifierOptions{})
//	n.At("runs").Set("r1", map[string]any{"step": 0})
//	n.At("runs", "r1").Set("step", 1)
//
// # Delivery
//
// The snapshot a new subscriber gets and its place in the stream of mods
// are taken under one lock, so no mod is lost or doubled between them. An
// initial sync always ends with a "synced" marker, even for an empty tree.
// Each mod is encoded once, when it is made; the same bytes go to every
// subscriber, several small mods per write. A notifier keeps its recent
// mods in a history bounded in bytes; each subscriber reads it from its own
// cursor, so a subscriber's queue is just how far its cursor lags. One that
// lags more than PublisherOptions.QueueBytes gets a fresh snapshot (a
// resync) instead of its backlog, and is told so; a subscriber that stops
// reading costs the publisher nothing more than the write it is blocked
// in. A Subscriber that reconnects sends the epoch and sequence number of
// its replica and gets either exactly the mods it missed, from the history,
// or a fresh snapshot, and is told which. Both sides send heartbeats, so a
// vanished peer is noticed within seconds.
//
// docs/protocol-sync.md describes the wire protocol: the "SIGOCO sync 2"
// banner and length-prefixed msgpack frames on TCP/TLS, the same messages
// one per WebSocket message (binary msgpack for Go, JSON text for
// browsers).
//
// # SiPyCo
//
// The Publisher also answers SiPyCo's "ARTIQ sync_struct" banner: SiPyCo's
// Python Subscriber (ARTIQ's dashboard, for one) then gets SiPyCo's init
// line and mod lines in PYON v2 and keeps an exact
// replica. SiPyCo cannot resume: each of its connections starts with an
// init, and one that falls behind gets a fresh init on the same
// connection. A Subscriber follows a SiPyCo Python Publisher (an ARTIQ
// master's schedule or datasets) with SubscriberOptions.Protocol set to
// ProtocolSiPyCo, or by itself with ProtocolAuto, the default, which
// falls back to SiPyCo's protocol only on positive evidence; every
// reconnection is then a full resync (ReasonSiPyCo). docs/sipyco.md has
// the details.
//
// # Other encodings
//
// Mods are Go structs (Mod; MarshalJSON prints one as the JSON protocol
// sends it); the native msgpack and JSON encodings and SiPyCo's PYON
// lines are internal encodings, kept apart from the queueing
// and fan-out, and all get the same encode-once fan-out. Inside this
// package, a protocol adds a transport (how messages go on its stream;
// control messages it lacks encode to nothing, and a peer that sends no
// heartbeats says so) and hands each subscriber, after its own handshake,
// to the Publisher's session engine (serveSession), as the SiPyCo
// protocol does (sipyco_publisher.go).
//
// # Concurrency
//
// Notifier, Publisher and Subscriber are safe for use by many goroutines.
// A Notifier's mutations are serialized; mods are numbered and published
// in the order the tree changed. Read gives a read-locked view (do not
// keep it); Copy a deep copy. Subscriber callbacks run one at a time on
// the subscriber's own goroutine; the tree they receive may be read there
// and then. Publisher.Close and Subscriber.Close stop every goroutine they
// started and wait for them. Publisher.Shutdown(ctx) is the graceful stop
// (a wire.Shutdowner, which wire.Mux.Shutdown calls): it stops accepting,
// tells every subscriber "shutdown" and waits for the sessions, falling
// back to Close when ctx ends. The Publisher accepts through wire's one
// accept loop (wire.AcceptLoop): TLS, MaxConns and IdleTimeout are its.
package syncstruct
