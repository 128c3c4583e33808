package track

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

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
	c *rpc.Client
}

// Open connects to the tracking server at addr ("" for the default, as in
// Options.Addr).
func Open(ctx context.Context, addr string, opts OpenOptions) (*Reader, error) {
	if addr == "" {
		o := Options{}
		o.Addr = ""
		o.defaults()
		addr = o.Addr
	}
	c, err := rpc.Dial(ctx, addr, TrackerTarget, rpc.ClientOptions{TLS: opts.TLS, Token: opts.Token})
	if err != nil {
		return nil, fmt.Errorf("track: %w", err)
	}
	return &Reader{c: c}, nil
}

// Close closes the connection.
func (rd *Reader) Close() error { return rd.c.Close() }

// Client returns the rpc client (for methods this type does not wrap).
func (rd *Reader) Client() *rpc.Client { return rd.c }

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
