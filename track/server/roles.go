package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Roles per rpc method (docs/security.md, "Identities and roles"): a
// viewer reads and subscribes; a runner also starts and writes runs,
// forwards logs, steers exposed objects, writes memo entries and launches
// jobs; only an admin calls anything not listed here. A runner writes,
// deletes and controls (a job is a run) only its own runs (owner.go).
var methodRoles = map[string]map[string]auth.Role{
	TargetName: {
		"list_runs": auth.Viewer, "get_run": auth.Viewer, "series": auth.Viewer, "logs": auth.Viewer,
		"export_run": auth.Viewer, "watch": auth.Viewer, "read_blob": auth.Viewer, "query_runs": auth.Viewer,
		"log_batch": auth.Runner, "heartbeat": auth.Runner, "add_note": auth.Runner, "add_tag": auth.Runner,
		"remove_tag": auth.Runner, "blob_state": auth.Runner, "write_blob": auth.Runner, "commit_blob": auth.Runner,
		"call_exposed": auth.Viewer, // the owner rule, or the object's grant (expose.go)
		"resume_run":   auth.Runner, "run_credential": auth.Runner,
		"delete_run":      auth.Runner, // its own runs only (owner.go)
		"archive_run":     auth.Runner, // its own runs only (owner.go)
		"shutdown_server": auth.Admin,  // shutdown.go
	},
	MemoTargetName: {
		"limits": auth.Viewer, "get": auth.Viewer, "exists": auth.Viewer,
		"put": auth.Runner, "delete": auth.Runner, "lock": auth.Runner, "renew": auth.Runner, "unlock": auth.Runner,
	},
	"jobs": { // jobs.TargetName (track/jobs imports this package's store, not the reverse)
		"list_solvers": auth.Viewer, "get_solver": auth.Viewer, "inspect_job": auth.Viewer, "list_jobs": auth.Viewer,
		"get_job_outputs": auth.Viewer, "get_job_logfile": auth.Viewer,
		"create_job": auth.Runner, "start_job": auth.Runner, "stop_job": auth.Runner,
		"create_jobs": auth.Runner, "stop_jobs": auth.Runner,
		"delete_job": auth.Runner, // start, stop, delete: its own jobs only (jobs.RunAuthorizer)
	},
}

// MethodRole is the role a call of method (its wire name) on target
// needs: the table above, and Admin for anything else.
func MethodRole(target, method string) auth.Role {
	if r, ok := methodRoles[target][method]; ok {
		return r
	}
	if r, ok := methodRoles[target][snake.Case(method)]; ok {
		return r // called by its Go name
	}
	return auth.Admin
}

// AuthorizeCall is Authorize, and for the tracker's methods that name a
// run, and the jobs methods that control a job, the owner rule (owner.go): the dashboard's check of POST /api/call
// before the call (refused: 403), which then reaches the tracker
// in-process (Server.Local) as the same identity. A log_batch through it
// may not create a run: runs are started over rpc.
func (s *Server) AuthorizeCall(ctx context.Context, target, method string, args []any) error {
	if err := Authorize(ctx, target, method); err != nil {
		return err
	}
	if len(args) == 0 {
		return nil
	}
	if target == "jobs" { // the jobs API asks AuthorizeRun too; here the dashboard answers 403
		switch m := snake.Case(method); m {
		case "start_job", "stop_job", "stop_jobs", "delete_job":
			if id, ok := args[0].(string); ok && store.CheckRunID(id) == nil {
				verb, _, _ := strings.Cut(m, "_") // start, stop, delete
				return s.AuthorizeRun(ctx, id, verb)
			}
		}
		return nil
	}
	if target != TargetName {
		return nil
	}
	var run string
	switch m := snake.Case(method); m {
	case "add_tag", "add_note", "remove_tag", "delete_run", "archive_run", "heartbeat", "call_exposed":
		run, _ = args[0].(string)
	case "log_batch":
		b, _ := args[0].(map[string]any)
		run, _ = b["run"].(string)
	default:
		return nil
	}
	claim, err := s.mayWrite(ctx, run, "write")
	if err != nil && snake.Case(method) == "call_exposed" && len(args) > 1 {
		if name, _ := args[1].(string); s.expose.granted(ctx, run, name) {
			return nil // the object grants calls to the caller's role
		}
	}
	if err == nil && claim != "" {
		err = fmt.Errorf("%w: run %q does not exist; runs are started over rpc, not through the dashboard", auth.ErrForbidden, truncate(run, 64))
	}
	return err
}

// Authorize refuses, with an error wrapping auth.ErrForbidden, a call the
// identity in ctx may not make (MethodRole). A context without an
// identity (an in-process caller) may call anything. It is the rpc
// server's ServerOptions.Authorize, and the dashboard's check of
// POST /api/call.
//
// An identity authenticated by a run credential (credential.go) acts as a
// runner of its one run: it may not delete it, nor launch, start or stop
// jobs (a job's solver holds one; it must not start more jobs in its
// creator's name).
func Authorize(ctx context.Context, target, method string) error {
	role := MethodRole(target, method)
	if id, ok := auth.FromContext(ctx); ok && id.Method == MethodRunCredential {
		if (target == "jobs" && role > auth.Viewer) || (target == TargetName && snake.Case(method) == "delete_run") {
			return fmt.Errorf("%w: %s.%s is not for a run's write credential (%s)", auth.ErrForbidden, target, method, truncate(id.Name, 70))
		}
	}
	return auth.Require(ctx, role, target+"."+method)
}
