package track

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

	"github.com/sigoco/sigoco/internal/failover"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// OpenOptions configures Open.
type OpenOptions struct {
	// TLS, if set, makes the connection TLS.
	TLS *tls.Config
	// Token authenticates the reader (docs/security.md). Default
	// $SIGOCO_TOKEN.
	Token string
}

// Reader reads runs from a tracking server: the API the dashboard uses,
// for programs and notebooks. It is safe for concurrent use.
type Reader struct {
	c *failover.Conn
}

// readerIdempotent are the tracker's methods a Reader calls once more, on
// the next server, when its connection is lost during the call: reads,
// and edits whose repetition changes nothing.
var readerIdempotent = []string{"list_runs", "get_run", "get_value", "series", "logs", "export_run",
	"read_blob", "blob_state", "add_tag", "remove_tag", "list_methods"}

// Open connects to the tracking server at addr ("" for the default, as in
// Options.Addr). addr may list several servers sharing one store
// ("a:3250,b:3250", as Options.Addrs): the Reader uses the first that
// answers and, when its connection is lost, the next (package
// internal/failover).
func Open(ctx context.Context, addr string, opts OpenOptions) (*Reader, error) {
	o := Options{Addr: addr}
	o.defaults()
	list := failover.NewList(o.Addrs...)
	rd := &Reader{c: failover.NewConn(list, TrackerTarget, rpc.ClientOptions{TLS: opts.TLS, Token: opts.Token}, readerIdempotent...)}
	if _, err := rd.c.Client(ctx); err != nil {
		return nil, fmt.Errorf("track: %w", err)
	}
	return rd, nil
}

// Close closes the connection.
func (rd *Reader) Close() error { return rd.c.Close() }

// Client returns the rpc client of the server in use (for methods this
// type does not wrap; CallInto and Call fail over), nil when no server
// can be reached.
func (rd *Reader) Client() *rpc.Client {
	c, _ := rd.c.Client(context.Background())
	return c
}

// CallInto calls a method of the tracker this type does not wrap, on the
// server in use; when the connection is lost, a read is made once more
// on the next server, and anything else returns the error (the next call
// goes to the next server).
func (rd *Reader) CallInto(ctx context.Context, out any, method string, args ...any) error {
	return rd.c.CallInto(ctx, out, method, args...)
}

// Call is CallInto with the result returned untyped (as rpc.Client.Call).
func (rd *Reader) Call(ctx context.Context, method string, args ...any) (any, error) {
	return rd.c.Call(ctx, method, args...)
}

// ListRuns returns a page of runs matching f, newest first.
func (rd *Reader) ListRuns(ctx context.Context, f store.RunFilter) (*store.RunPage, error) {
	var p store.RunPage
	return &p, rd.c.CallInto(ctx, &p, "list_runs", f)
}

// RunInfo is a run as the tracking server returns it (get_run): the
// stored run plus what only the live server knows. track/server returns
// this type.
type RunInfo struct {
	store.Run `msgpack:",inline"`
	// Exposed lists the objects the run exposes now, with their methods.
	Exposed map[string]*rpc.TargetInfo `msgpack:"exposed" json:"exposed,omitempty"`
}

// GetRun returns a run with everything it holds, within the server's
// bounds: a large value is a marker (store.IsTruncated; Value reads it in
// full) and Omitted counts the entries left out.
func (rd *Reader) GetRun(ctx context.Context, id string) (*RunInfo, error) {
	var r RunInfo
	return &r, rd.c.CallInto(ctx, &r, "get_run", id)
}

// Value returns one value of a run in full: a param (kind
// store.KindParam), a metadata entry (store.KindMeta), a count
// (store.KindCount) or the latest value of a series (store.KindResult).
func (rd *Reader) Value(ctx context.Context, run string, kind store.Kind, key string) (any, error) {
	var v any
	return v, rd.c.CallInto(ctx, &v, "get_value", run, string(kind), key)
}

// Series returns a result series (downsampled with q.MaxPoints).
func (rd *Reader) Series(ctx context.Context, run, key string, q store.SeriesQuery) (*store.Series, error) {
	var s store.Series
	return &s, rd.c.CallInto(ctx, &s, "series", run, key, q)
}

// Logs returns a page of a run's logs.
func (rd *Reader) Logs(ctx context.Context, q store.LogQuery) (*store.LogPage, error) {
	var p store.LogPage
	return &p, rd.c.CallInto(ctx, &p, "logs", q)
}

// AddNote adds a note to a run.
func (rd *Reader) AddNote(ctx context.Context, run, text string) error {
	return rd.c.CallInto(ctx, nil, "add_note", run, text)
}

// AddTag tags a run.
func (rd *Reader) AddTag(ctx context.Context, run, tag string) error {
	return rd.c.CallInto(ctx, nil, "add_tag", run, tag)
}

// RemoveTag removes a tag from a run.
func (rd *Reader) RemoveTag(ctx context.Context, run, tag string) error {
	return rd.c.CallInto(ctx, nil, "remove_tag", run, tag)
}

// DeleteRun deletes a run.
func (rd *Reader) DeleteRun(ctx context.Context, id string) error {
	return rd.c.CallInto(ctx, nil, "delete_run", id)
}

// Export returns a run as a JSON document.
func (rd *Reader) Export(ctx context.Context, id string) (string, error) {
	var s string
	return s, rd.c.CallInto(ctx, &s, "export_run", id)
}

// Artifact writes the content of the artifact with the given sha256 to w.
func (rd *Reader) Artifact(ctx context.Context, sha256 string, w io.Writer) (int64, error) {
	var off int64
	for {
		var b []byte
		if err := rd.c.CallInto(ctx, &b, "read_blob", sha256, off, int64(4<<20)); err != nil {
			return off, err
		}
		if len(b) == 0 {
			return off, nil
		}
		if _, err := w.Write(b); err != nil {
			return off, err
		}
		off += int64(len(b))
	}
}

// CallExposed calls method of the object name exposed by a live run.
func (rd *Reader) CallExposed(ctx context.Context, run, name, method string, args ...any) (any, error) {
	if args == nil {
		args = []any{}
	}
	return rd.c.Call(ctx, "call_exposed", run, name, method, args, map[string]any{})
}

// Watch makes the server publish the run's own notifier and returns its name
// (subscribe with syncstruct.NewSubscriber).
func (rd *Reader) Watch(ctx context.Context, run string) (string, error) {
	var s string
	return s, rd.c.CallInto(ctx, &s, "watch", run)
}
