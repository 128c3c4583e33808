package dashboard

import (
	"context"
	"embed"
	"github.com/sigoco/sigoco/syncstruct"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// Static returns the app's files (index.html, the modules, vendor/...), as
// embedded in the binary.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Caller calls a method of an rpc target ("tracker" or "jobs").
// *rpc.Local (the tracking server's in-process handle, server.Server.Local,
// which trackd passes) and *rpc.Client satisfy it. The ctx of a call holds
// the identity Auth.Wrap found: through an *rpc.Local it is the identity
// the target authorizes.
type Caller interface {
	Call(ctx context.Context, method string, args ...any) (any, error)
}

// Options configures a Handler. The zero value serves the app alone.
type Options struct {
	// Tracker receives the calls of POST /api/call. When nil, the endpoint
	// answers 503.
	Tracker Caller
	// Jobs receives the calls of POST /api/call with "target": "jobs"
	// (track/jobs: solvers and jobs). When nil, such calls answer 503.
	Jobs Caller
	// Next serves every request the dashboard does not (the tracking
	// server's handler: /sync, /artifacts/, /runs/...). Default: 404.
	Next http.Handler
	// CheckOrigin decides whether a call from a browser page may be
	// made. Default: a request without an Origin header, or whose Origin
	// host equals its Host (as the WebSocket at /sync checks).
	CheckOrigin func(r *http.Request) bool
	// MaxBodySize bounds a call's request body. Default 1 MiB.
	MaxBodySize int64
	// CallTimeout bounds one call. Default 30 s.
	CallTimeout time.Duration
	// Logger receives failed calls (debug). Default: discarded.
	Logger *slog.Logger
	// Authorize, if set, is asked before each call of POST /api/call with
	// the request's context (holding the identity Auth.Wrap found), the
	// target, the method and its arguments; an error answers 403 with
	// type "PermissionError". trackd passes server.Server.AuthorizeCall
	// (the role table of its rpc targets, and the owner rule), before the
	// call reaches the target, which checks the same identity again.
	// Default: every call is made.
	Authorize func(ctx context.Context, target, method string, args []any) error
}

// Handler serves the dashboard. See the package doc for its routes.
type Handler struct {
	opts   Options
	static http.Handler
	index  []byte
}

// New returns the dashboard's handler.
func New(opts Options) *Handler {
	if opts.CheckOrigin == nil {
		opts.CheckOrigin = SameOrigin
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = 1 << 20
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	index, err := fs.ReadFile(Static(), "index.html")
	if err != nil {
		panic(err) // embedded
	}
	return &Handler{
		opts:   opts,
		static: http.StripPrefix("/static/", http.FileServerFS(Static())),
		index:  index,
	}
}

// CSP is the Content-Security-Policy of every response the Handler
// serves (and of everything behind it, Options.Next, unless that sets a
// stricter one, as artifacts do): the dashboard's origin runs only the
// dashboard's own modules — no inline script, no eval, nothing loaded from
// elsewhere — and may not be framed.
const CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries: the CSP,
// nosniff, no framing, no referrer beyond the origin.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	securityHeaders(w.Header())
	switch {
	case p == "/" || p == "/index.html":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "dashboard: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.serveIndex(w, r)
	case strings.HasPrefix(p, "/static/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "dashboard: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache") // revalidate: a new binary may change a module
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if p == "/static/replica.js" { // syncstruct's one browser replica
			syncstruct.WebReplicaHandler.ServeHTTP(w, r)
			return
		}
		h.static.ServeHTTP(w, r)
	case p == CallPath:
		h.serveCall(w, r)
	case h.opts.Next != nil:
		h.opts.Next.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(h.index)
}

// SameOrigin is Options.CheckOrigin's default: true for a request without
// an Origin header (not from a browser page) or whose Origin host equals
// its Host, ignoring case.
func SameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
