package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"

	"github.com/sigoco/sigoco/rpc"
)

// CallPath is the path of the call endpoint.
const CallPath = "/api/call"

// callRequest is the body of POST /api/call. Args and Kwargs hold PYON
// JSON (docs/dashboard.md): numbers without a fraction or exponent are
// integers, {"__jsonclass__": [name, args]} the PYON types JSON lacks.
type callRequest struct {
	// Target is "tracker" (the default, when empty) or "jobs".
	Target string                     `json:"target"`
	Method string                     `json:"method"`
	Args   []json.RawMessage          `json:"args"`
	Kwargs map[string]json.RawMessage `json:"kwargs"`
}

// CallError is the "error" member of a failed call's answer.
type CallError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
	// Remote is true when the tracker (or the run it forwarded to)
	// raised the error, false when the call did not reach it.
	Remote bool `json:"remote"`
}

// Error types of failures that are not the tracker's.
const (
	TypeBadCall     = "dashboard.BadCall"     // the request body is not a valid call
	TypeForbidden   = "dashboard.Forbidden"   // the Origin is not allowed
	TypeUnavailable = "dashboard.Unavailable" // the tracker could not be reached
	TypeTimeout     = "dashboard.Timeout"     // the call took longer than CallTimeout
	TypeBadResult   = "dashboard.BadResult"   // the result has no JSON form
	TypePermission  = "PermissionError"       // Options.Authorize refused the call (auth.ErrForbidden)
)

var methodName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(body)
}

func writeError(w http.ResponseWriter, code int, e CallError) {
	b, _ := json.Marshal(struct {
		Error CallError `json:"error"`
	}{e})
	writeJSON(w, code, b)
}

func badCall(w http.ResponseWriter, code int, format string, a ...any) {
	writeError(w, code, CallError{Type: TypeBadCall, Message: fmt.Sprintf(format, a...)})
}

// serveCall serves POST /api/call.
func (h *Handler) serveCall(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		badCall(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !h.opts.CheckOrigin(r) {
		writeError(w, http.StatusForbidden, CallError{Type: TypeForbidden, Message: fmt.Sprintf("origin %q may not call", r.Header.Get("Origin"))})
		return
	}
	// A JSON content type makes a cross-origin fetch preflighted, which
	// this endpoint never answers: a form post from another site fails.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		badCall(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			badCall(w, http.StatusRequestEntityTooLarge, "body over %d bytes", h.opts.MaxBodySize)
			return
		}
		badCall(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	target, method, args, err := parseCall(body)
	if err != nil {
		badCall(w, http.StatusBadRequest, "%v", err)
		return
	}
	if h.opts.Authorize != nil {
		if err := h.opts.Authorize(r.Context(), target, method, args); err != nil {
			writeError(w, http.StatusForbidden, CallError{Type: TypePermission, Message: err.Error()})
			return
		}
	}
	callee := h.opts.Tracker
	if target == TargetJobs {
		callee = h.opts.Jobs
	}
	if callee == nil {
		writeError(w, http.StatusServiceUnavailable, CallError{Type: TypeUnavailable, Message: fmt.Sprintf("dashboard: no target %q to call", target)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.CallTimeout)
	defer cancel()
	res, err := callee.Call(ctx, method, args...)
	if err != nil {
		h.opts.Logger.Debug("dashboard: call failed", "target", target, "method", method, "err", err)
		var re *rpc.RemoteError
		switch {
		case errors.As(err, &re):
			writeError(w, http.StatusOK, CallError{Type: re.Type, Message: re.Message, Traceback: re.Traceback, Remote: true})
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			writeError(w, http.StatusGatewayTimeout, CallError{Type: TypeTimeout, Message: fmt.Sprintf("no answer in %v", h.opts.CallTimeout)})
		case errors.Is(err, rpc.ErrIncompatibleServer):
			// The server does not serve the target (trackd without --solvers).
			writeError(w, http.StatusServiceUnavailable, CallError{Type: TypeUnavailable, Message: err.Error()})
		default:
			writeError(w, http.StatusBadGateway, CallError{Type: TypeUnavailable, Message: err.Error()})
		}
		return
	}
	var buf bytes.Buffer
	buf.WriteString(`{"result":`)
	if err := appendValue(&buf, res); err != nil {
		writeError(w, http.StatusOK, CallError{Type: TypeBadResult, Message: err.Error()})
		return
	}
	buf.WriteByte('}')
	writeJSON(w, http.StatusOK, buf.Bytes())
}

// The targets a call may name.
const (
	TargetTracker = "tracker" // the default
	TargetJobs    = "jobs"
)

// parseCall decodes a call body into the target, the method and its rpc
// arguments (keyword arguments last, as rpc.Kwargs).
func parseCall(body []byte) (string, string, []any, error) {
	var req callRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", "", nil, fmt.Errorf("body is not a call object: %v", err)
	}
	if dec.More() {
		return "", "", nil, errors.New("body has data after the call object")
	}
	switch req.Target {
	case "":
		req.Target = TargetTracker
	case TargetTracker, TargetJobs:
	default:
		return "", "", nil, fmt.Errorf("target %q is not %q or %q", truncate(req.Target, 64), TargetTracker, TargetJobs)
	}
	if !methodName.MatchString(req.Method) {
		return "", "", nil, fmt.Errorf("method %q is not a method name", truncate(req.Method, 64))
	}
	args := make([]any, 0, len(req.Args)+1)
	for i, raw := range req.Args {
		v, err := decodeValue(raw)
		if err != nil {
			return "", "", nil, fmt.Errorf("args[%d]: %v", i, err)
		}
		args = append(args, v)
	}
	if len(req.Kwargs) > 0 {
		kw := make(rpc.Kwargs, len(req.Kwargs))
		for k, raw := range req.Kwargs {
			v, err := decodeValue(raw)
			if err != nil {
				return "", "", nil, fmt.Errorf("kwargs[%q]: %v", truncate(k, 64), err)
			}
			kw[k] = v
		}
		args = append(args, kw)
	}
	return req.Target, req.Method, args, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
