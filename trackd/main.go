// Command trackd is the sigoco tracking server: it stores the runs that
// simulations report with package track, publishes them live and serves
// them to readers, rpctool and the dashboard, all on one port (default
// 3250).
//
//	trackd [--bind 127.0.0.1] [--port 3250] [--data ./sigoco-data] [--public-addr HOST:PORT,…] [--demo]
//	       [--store postgres://USER@HOST/DB] [--artifacts DIR|postgres]
//	       [--max-conns N] [--max-conns-per-addr N] [--http-read-timeout D] [--http-idle-timeout D]
//	       [--min-free 256M]
//	trackd replay DIR     send the spools left in DIR (a track spool directory)
//	trackd export RUN     print a run as JSON (from the data directory, --store or --addr)
//	trackd backup DEST    copy the SQLite store in --data to DEST while trackd runs
//	trackd token NAME [--role viewer|runner|admin]
//	                      mint a token and print the access-file line to add
//
// Exit codes: 0 success, 1 failure, 2 bad usage.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/internal/demo"
	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newApp(os.Stdout, os.Stderr).RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trackd:", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                   "trackd",
		Usage:                  "the sigoco tracking server",
		Writer:                 stdout,
		ErrWriter:              stderr,
		UseShortOptionHandling: true,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address to listen on"},
			&cli.IntFlag{Name: "port", Value: server.DefaultPort, Usage: "TCP port (0 picks one)"},
			&cli.StringFlag{Name: "data", Value: "./sigoco-data", Usage: "data directory (database and artifacts)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "server certificate (PEM); enables TLS"},
			&cli.StringFlag{Name: "tls-key", Usage: "server key (PEM)"},
			&cli.StringFlag{Name: "tls-peer-cert", Usage: "accept only clients with this certificate (PEM)"},
			&cli.BoolFlag{Name: "demo", Usage: "also run the demo simulation (internal/demo; examples/simulation/sigoco-oscillator runs it alone) and, without --solvers, serve the demo solvers"},
			&cli.StringFlag{Name: "solvers", Usage: "solvers file (TOML, docs/jobs.md): enables jobs (rpc target \"jobs\")"},
			&cli.StringFlag{Name: "jobs-dir", Usage: "`DIR` of the jobs' directories (default DATA/jobs); nodes on one --store that run Slurm jobs give the same directory on a filesystem they and the cluster share, so that a node takes over the Slurm jobs of a node that died (docs/scaling.md)"},
			&cli.IntFlag{Name: "max-jobs", Value: runtime.NumCPU(), Usage: "local jobs running at once (Slurm jobs are queued by the cluster)"},
			&cli.StringFlag{Name: "executor", Value: jobs.ExecutorLocal, Usage: "what runs the jobs of solvers that name no executor: local (processes of trackd's) or slurm (sbatch; docs/jobs.md \"Running on Slurm\")"},
			&cli.DurationFlag{Name: "heartbeat-timeout", Value: 20 * time.Second, Usage: "mark a run crashed after this long without a heartbeat"},
			&cli.StringFlag{Name: "access", Usage: "access file: identities and roles for every protocol on the port (tokens, basic-auth users, certificates; docs/security.md)"},
			&cli.BoolFlag{Name: "insecure", Usage: "serve beyond loopback without an access file (everyone who can reach the port may do everything)"},
			&cli.StringSliceFlag{Name: "public-addr", Usage: "`HOST:PORT[,…]` names (beside loopback and --bind) that browsers reach trackd by; HTTP requests for any other Host are refused (DNS rebinding; docs/security.md)"},
			&cli.IntFlag{Name: "max-conns", Usage: "connections open at once on the port (0: 4096, or 7/8 of the open-file limit if lower; -1: no limit)"},
			&cli.IntFlag{Name: "max-conns-per-addr", Usage: "connections open at once from one address (IPv4 address, IPv6 /64) (0: 2048, or half of --max-conns if lower; -1: no limit)"},
			&cli.DurationFlag{Name: "http-read-timeout", Usage: "time an HTTP request may take to arrive, body included (0: 30s; -1s: none)"},
			&cli.DurationFlag{Name: "http-idle-timeout", Usage: "close a kept-alive HTTP connection idle this long (0: 2m; -1s: never)"},
			&cli.StringFlag{Name: "min-free", Value: "256M", Usage: "free-space watermark under --data (artifacts: --artifacts): below it new runs and artifact uploads are refused as unavailable (clients spool and retry) before the disk fills; bytes or 512M, 1G, … (0: off)"},
			&cli.StringFlag{Name: "synchronous", Value: "normal", Usage: "SQLite synchronous mode: normal or full"},
			&cli.StringFlag{Name: "store", EnvVars: []string{"SIGOCO_TRACK_STORE"}, Usage: "`URL` of the store: postgres://USER@HOST/DB for PostgreSQL (password from PGPASSWORD or PGPASSFILE; docs/postgres.md), or sqlite (default: the database in --data)"},
			&cli.StringFlag{Name: "artifacts", Usage: "`DIR` of artifact contents with a PostgreSQL --store (default DATA/artifacts; shared by several nodes only if it is a shared directory), or the word postgres: in the database itself, seen by every node (a directory of that name: ./postgres)"},
		}, append(append(logflag.Flags(), quotaFlags()...), nodeFlags()...)...), // quota.go, node.go
		Action: serve,
		Commands: []*cli.Command{
			{
				Name:      "replay",
				Usage:     "send the spools a run left in DIR to the server",
				ArgsUsage: "DIR",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Usage: "server (default $SIGOCO_TRACK_ADDR or 127.0.0.1:3250)"},
				},
				Action: replay,
			},
			{
				Name:      "export",
				Usage:     "print a run as JSON",
				ArgsUsage: "RUN",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Usage: "ask this server instead of reading --data"},
					&cli.StringFlag{Name: "data", Usage: "data directory to read (default: trackd's --data)"},
					&cli.StringFlag{Name: "store", Usage: "`URL` of the store to read (default: trackd's --store)"},
				},
				Action: export,
			},
			backupCommand,
			{
				Name:      "token",
				Usage:     "mint a token for NAME and print the access-file line to add (docs/security.md)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "role", Value: "runner", Usage: "viewer, runner or admin"},
				},
				Action: mintToken,
			},
			{
				Name:      "solver",
				Usage:     "run a demo solver built into trackd, in a job's working directory (internal/demo)",
				ArgsUsage: "sweep",
				Hidden:    true,
				Action: func(c *cli.Context) error {
					if c.Args().First() != "sweep" {
						return cli.Exit("trackd solver: the built-in solver is \"sweep\"", 2)
					}
					return demo.Sweep(c.Context)
				},
			},
		},
	}
}

// serve runs trackd until a signal, an admin's shutdown_server or a
// failure of the listener: options from the flags, the data directory's
// lock, the listener, the store, then the parts (buildParts).
func serve(c *cli.Context) error {
	level := logflag.Level(c)
	stderr := c.App.ErrWriter
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	log = nodeLogger(c, log) // node.go
	tcfg := wire.TLSConfig{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), PeerCertFile: c.String("tls-peer-cert")}
	opts, err := serverOptions(c, tcfg, log)
	if err != nil {
		return err
	}
	access, err := loadAccess(c, opts.TLS, stderr)
	if err != nil {
		return err
	}
	demoToken, err := authorize(c, &opts, access)
	if err != nil {
		return err
	}
	lock, ln, err := lockAndListen(c) // before the store marks open runs crashed
	if err != nil {
		return err
	}
	defer lock.Close()
	defer ln.Close()
	hosts, err := dashboard.NewHostCheck(dashboard.HostOptions{Listen: ln.Addr().String(), Public: c.StringSlice("public-addr")})
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	// Operators' routes and forwarding between nodes (node.go).
	opts.Ops = nodeOps(hosts, access)
	nodeTLS, err := ownCertClient(opts.TLS, tcfg)
	if err != nil {
		return err
	}
	if opts.Nodes, err = nodeOptions(c, ln, access, nodeTLS, log); err != nil {
		return err
	}
	cfg, err := solversConfig(c)
	if err != nil {
		return err
	}
	st, err := openStore(c.Context, c, log)
	if err != nil {
		if c.Context.Err() != nil {
			// Stopped (SIGTERM, ^C) while the store was opening or
			// migrating: a requested shutdown, not a failure. Each
			// migration step is one transaction, so none is half done.
			log.Info("trackd: stopped while opening the store", "err", err)
			return nil
		}
		return err
	}
	defer st.Close()
	srv, mgr, err := buildParts(c, st, opts, partsConfig{jobs: cfg, addr: ln.Addr().String(), access: access, hosts: hosts, log: log})
	if err != nil {
		if c.Context.Err() != nil {
			// Stopped while the server read its live state or the jobs
			// manager recovered its jobs: a requested shutdown too.
			log.Info("trackd: stopped while starting", "err", err)
			return nil
		}
		return err
	}
	defer srv.Close()
	if mgr != nil {
		defer mgr.Close()
		registerJobMetrics(srv, st) // node.go
	}
	announce(c, ln.Addr(), opts.TLS != nil, mgr != nil, hosts)
	var do *demoOptions // nil without --demo
	if c.Bool("demo") {
		do = &demoOptions{Addr: ln.Addr().String(), Token: demoToken, LogToStderr: level <= slog.LevelInfo, Stderr: stderr}
		if do.TLS, err = ownCertClient(opts.TLS, tcfg); err != nil {
			return err
		}
	}
	return serveUntilStopped(c, srv, mgr, ln, do)
}

// ownCertClient is a client TLS configuration for trackd's own clients
// (other nodes, the demo simulation): trust the server's certificate,
// present none. Nil without TLS; a fresh one on each call.
func ownCertClient(serverTLS *tls.Config, tcfg wire.TLSConfig) (*tls.Config, error) {
	if serverTLS == nil {
		return nil, nil
	}
	t, err := (wire.TLSConfig{PeerCertFile: tcfg.CertFile}).Client("")
	if err != nil {
		return nil, cli.Exit(err.Error(), 2)
	}
	return t, nil
}

// lockAndListen locks the data directory (a second trackd on it is
// refused), listens, and writes the address into the lock for the second
// trackd's message.
func lockAndListen(c *cli.Context) (_ *dataLock, _ net.Listener, err error) {
	lock, err := lockData(c.String("data"))
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), 1)
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	ln, err := net.Listen("tcp", net.JoinHostPort(c.String("bind"), strconv.Itoa(c.Int("port"))))
	if err != nil {
		return nil, nil, cli.Exit(listenHint(err), 1)
	}
	if err := lock.write(ln.Addr().String()); err != nil {
		ln.Close()
		return nil, nil, err
	}
	return lock, ln, nil
}

// serverOptions are the server's options from the flags, TLS included.
func serverOptions(c *cli.Context, tcfg wire.TLSConfig, log *slog.Logger) (server.Options, error) {
	opts := server.Options{Logger: log, HeartbeatTimeout: c.Duration("heartbeat-timeout"), Conns: wire.MuxOptions{
		MaxConns:        c.Int("max-conns"),
		MaxConnsPerAddr: c.Int("max-conns-per-addr"),
		HTTP:            wire.HTTPOptions{ReadTimeout: c.Duration("http-read-timeout"), IdleTimeout: c.Duration("http-idle-timeout")},
	}}
	minFree, err := parseSize(c.String("min-free"))
	if err != nil {
		return opts, cli.Exit(err.Error(), 2)
	}
	opts.MinFree = minFree
	if err := applyQuotas(c, &opts); err != nil { // quota.go
		return opts, err
	}
	if dir := c.String("artifacts"); dir != "" && dir != artifactsInDatabase && isPostgres(c.String("store")) {
		opts.FreeSpace = freeSpace(dir) // PostgreSQL's own disk is its business
	} else {
		opts.FreeSpace = freeSpace(c.String("data"))
	}
	if tcfg.Enabled() {
		t, err := tcfg.Server()
		if err != nil {
			return opts, cli.Exit(err.Error(), 2)
		}
		opts.TLS = t
	}
	return opts, nil
}

// authorize sets opts.Auth from the access file (nil: none) and returns
// the demo simulation's token ("" without --demo or an access file).
//
// The demo simulation reports to trackd as a client; with an access file
// it gets a token minted for this process. A job's solver gets only its
// run's write credential (the server mints it: jobs' Recorder). trackd's
// own parts (the dashboard, jobs' bookkeeping) call the server
// in-process.
func authorize(c *cli.Context, opts *server.Options, access *auth.Access) (demoToken string, err error) {
	if access == nil {
		opts.Auth = auth.Everyone{Role: auth.Admin} // the local user (or --insecure)
		if c.Bool("demo") && opts.TLS != nil && opts.TLS.ClientAuth == tls.RequireAndVerifyClientCert {
			return "", cli.Exit("trackd: --demo with --tls-peer-cert needs --access: the demo simulation authenticates with a token, not a client certificate", 2)
		}
		return "", nil
	}
	if c.Bool("demo") {
		demoToken = auth.NewToken()
		access.AddToken(demoToken, auth.Identity{Name: "trackd-demo", Role: auth.Runner})
	}
	opts.Auth = access
	return demoToken, nil
}

// solversConfig is the jobs' configuration: --solvers, else with --demo
// the demo's own solvers (internal/demo), else nil (no jobs).
func solversConfig(c *cli.Context) (*jobs.Config, error) {
	switch f := c.String("solvers"); {
	case f != "":
		cfg, err := jobs.LoadConfig(f)
		if err != nil {
			return nil, cli.Exit(err.Error(), 2)
		}
		return cfg, nil
	case c.Bool("demo"):
		return demo.InstallSolvers(filepath.Join(c.String("data"), "demo-solvers"))
	}
	return nil, nil
}

// announce tells on stderr where trackd serves, and warns of a port open
// beyond loopback without TLS.
func announce(c *cli.Context, addr net.Addr, withTLS, withJobs bool, hosts *dashboard.HostCheck) {
	stderr := c.App.ErrWriter
	if !withTLS && !isLoopbackHost(c.String("bind")) {
		fmt.Fprintf(stderr, "trackd: WARNING: listening on %s without TLS: tokens and runs cross the network in clear (use --tls-cert/--tls-key)\n", c.String("bind"))
	}
	scheme := "http"
	if withTLS {
		scheme = "https"
	}
	abs, _ := filepath.Abs(c.String("data"))
	targets := fmt.Sprintf("rpc targets %q, %q", server.TargetName, server.MemoTargetName)
	if withJobs {
		targets += fmt.Sprintf(", %q", jobs.TargetName)
	}
	fmt.Fprintf(stderr, "trackd: serving on %s (%s, sync, logs); data in %s\n", addr, targets, abs)
	fmt.Fprintf(stderr, "trackd: dashboard at %s://%s/\n", scheme, addr)
	if ip := net.ParseIP(c.String("bind")); ip == nil || !ip.IsLoopback() || len(c.StringSlice("public-addr")) > 0 {
		fmt.Fprintf(stderr, "trackd: HTTP answers to Host %s; other names get 421 (add them with --public-addr)\n", strings.Join(hosts.Names(), ", "))
	}
}

// serveUntilStopped serves on ln (and runs the demo simulation when do is not nil)
// until the listener fails, a signal or an admin's shutdown_server, then
// shuts down in order: the demo ends its run, the jobs stop, the server
// goes.
func serveUntilStopped(c *cli.Context, srv *server.Server, mgr *jobs.Manager, ln net.Listener, do *demoOptions) error {
	stderr := c.App.ErrWriter
	done := make(chan error, 1)
	// The listener outlives the signal until the demo has ended its run.
	go func() { done <- srv.Serve(context.WithoutCancel(c.Context), ln) }()
	var sim *demoSim
	var simDone <-chan struct{} // nil (never ready) without --demo
	if do != nil {
		sim = startDemo(c.Context, *do)
		simDone = sim.Done()
	}
	asked := srv.ShutdownRequested() // an admin's shutdown_server: as SIGTERM
	var err error
	select {
	case err = <-done:
	case <-c.Context.Done():
	case <-asked:
	case <-simDone: // stopped over rpc, or failed: trackd serves on
		if derr := sim.Err(); derr != nil {
			fmt.Fprintln(stderr, "trackd: demo:", derr)
		}
		sim = nil
		select {
		case err = <-done:
		case <-c.Context.Done():
		case <-asked:
		}
	}
	if by := srv.ShutdownRequestedBy(); by != "" {
		fmt.Fprintln(stderr, "trackd: shutdown_server called by", by)
	}
	fmt.Fprintln(stderr, "trackd: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if sim != nil {
		// The demo ends its run while the server still takes the last
		// batch.
		if derr := sim.Close(sctx); derr != nil {
			fmt.Fprintln(stderr, "trackd: demo:", derr)
		}
	}
	if mgr != nil {
		mgr.Close() // stops running jobs before the server goes
	}
	srv.Shutdown(sctx)
	return err
}

// partsConfig is what buildParts needs beside the store and the server's
// options.
type partsConfig struct {
	jobs   *jobs.Config // nil: no jobs
	addr   string       // the listening address (solvers' SIGOCO_TRACK_ADDR)
	access *auth.Access // nil without an access file
	hosts  *dashboard.HostCheck
	log    *slog.Logger
}

// buildParts builds trackd's parts in order, each from what is built
// before it: the server over the store; its memo target; the jobs
// manager recording through the server, its target and /jobs/ handler;
// the dashboard, calling the tracker and jobs in-process, in front of the
// server's HTTP routes, behind the Host check (first, in front of every
// route: the dashboard, /api/call, /sync, artifacts, jobs' files) and the
// access control. The caller closes the manager (if any), then the server.
func buildParts(c *cli.Context, st store.Store, opts server.Options, pc partsConfig) (_ *server.Server, _ *jobs.Manager, err error) {
	srv, err := server.New(c.Context, st, opts)
	if err != nil {
		return nil, nil, err
	}
	var mgr *jobs.Manager
	defer func() {
		if err != nil {
			if mgr != nil {
				mgr.Close()
			}
			srv.Close()
		}
	}()
	memoTarget, err := server.NewMemo(srv, server.MemoOptions{}) // rpc target "memo" (memo.TrackStorage)
	if err != nil {
		return nil, nil, err
	}
	if err := srv.AddTarget(server.MemoTargetName, memoTarget); err != nil {
		return nil, nil, err
	}
	if pc.jobs != nil {
		mgr, err = jobs.New(c.Context, srv, jobs.Options{
			Solvers: pc.jobs.Solvers, Dir: jobsDir(c), Addr: pc.addr,
			MaxJobs: c.Int("max-jobs"), Logger: pc.log, MaxQueuedJobs: jobsQuota(c),
			Executor: c.String("executor"), PublicAddr: firstPublicAddr(c.StringSlice("public-addr")),
			LeaseTimeout: c.Duration("heartbeat-timeout"), // another node takes over the jobs of a node silent this long
			// the runs of jobs told alive well within the timeout (TestSlurmJobFollowsItsNode gives 2 s)
			HeartbeatInterval: min(2*time.Second, c.Duration("heartbeat-timeout")/4),
		})
		if err != nil {
			return nil, nil, err
		}
		if err := srv.AddTarget(jobs.TargetName, jobsTarget(srv, mgr.Target(), opts.Nodes.Addr != "")); err != nil { // node.go: stop_job forwarded to the job's node
			return nil, nil, err
		}
		srv.HandleHTTP("GET /jobs/", mgr.HTTPHandler())
	}
	dash, err := newDashboard(srv, mgr != nil, pc.access, pc.log)
	if err != nil {
		return nil, nil, err
	}
	srv.SetHTTPHandler(pc.hosts.Wrap(dash))
	return srv, mgr, nil
}

// jobsDir is --jobs-dir, default DATA/jobs.
func jobsDir(c *cli.Context) string {
	if d := c.String("jobs-dir"); d != "" {
		return d
	}
	return filepath.Join(c.String("data"), "jobs")
}

// newDashboard is the dashboard as trackd serves it: calls of POST
// /api/call go in-process to the tracker (and jobs, when served) as the
// identity the access control found (with an access file), checked
// first by the server's role table and owner rule; everything else goes
// to the server's own routes.
func newDashboard(srv *server.Server, withJobs bool, access *auth.Access, log *slog.Logger) (http.Handler, error) {
	tracker, err := srv.Local(server.TargetName)
	if err != nil {
		return nil, err
	}
	dopts := dashboard.Options{Tracker: tracker, Next: srv.Handler(), Logger: log, Authorize: srv.AuthorizeCall}
	if withJobs {
		j, err := srv.Local(jobs.TargetName)
		if err != nil {
			return nil, err
		}
		dopts.Jobs = j
	}
	var h http.Handler = dashboard.New(dopts)
	if access != nil {
		h = dashboard.NewAuth(access).Wrap(h)
	}
	return h, nil
}

// loadAccess reads --access and checks that trackd may serve as asked
// (docs/security.md): bound to loopback without an access file, the
// local user is admin; beyond loopback it needs an access file, or
// --insecure. With TLS, the --tls-peer-cert pool is the one certificate
// lines are checked against, and client certificates become optional (a
// token is a credential too); without a pool, it warns.
func loadAccess(c *cli.Context, tcfg *tls.Config, stderr io.Writer) (*auth.Access, error) {
	bind := c.String("bind")
	var access *auth.Access
	if f := c.String("access"); f != "" {
		var err error
		if access, err = auth.Load(f); err != nil {
			return nil, cli.Exit("trackd: --access: "+err.Error(), 2)
		}
	}
	switch {
	case access == nil && !isLoopbackHost(bind) && !c.Bool("insecure"):
		return nil, cli.Exit(fmt.Sprintf("trackd: refusing to listen on %s without an access file: anyone who can reach the port could read, change and delete every run and start jobs. "+
			"Give --access FILE (docs/security.md; \"trackd token NAME\" mints a token), bind to 127.0.0.1, or pass --insecure to serve everyone anyway", bind), 2)
	case access == nil && !isLoopbackHost(bind):
		fmt.Fprintf(stderr, "trackd: WARNING: --insecure: everyone who can reach %s may do everything\n", bind)
	}
	if tcfg != nil && tcfg.ClientCAs == nil {
		fmt.Fprintln(stderr, "trackd: WARNING: TLS without --tls-peer-cert: client certificates are not checked, so SiPyCo clients (which cannot send tokens) can only be the anonymous identity")
	}
	if access != nil && tcfg != nil && tcfg.ClientCAs != nil {
		access.SetClientCAs(tcfg.ClientCAs)
		tcfg.ClientAuth = tls.VerifyClientCertIfGiven // a token is a credential too
	}
	return access, nil
}

// isLoopbackHost reports whether trackd bound to host serves only this
// machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mintToken prints a fresh token for the client (stdout, first line, as
// SIGOCO_TOKEN=…) and the line the access file gets (second line: only
// the token's hash, so the file never holds the secret).
func mintToken(c *cli.Context) error {
	// The flag may follow NAME (urfave/cli stops at the first argument).
	args, roleName := c.Args().Slice(), c.String("role")
	if len(args) == 3 && (args[1] == "--role" || args[1] == "-role") {
		args, roleName = args[:1], args[2]
	} else if len(args) == 2 && strings.HasPrefix(args[1], "--role=") {
		args, roleName = args[:1], strings.TrimPrefix(args[1], "--role=")
	}
	if len(args) != 1 {
		return cli.Exit("usage: trackd token NAME [--role viewer|runner|admin]", 2)
	}
	role, err := auth.ParseRole(roleName)
	if err != nil || role == auth.None {
		return cli.Exit("trackd token: --role is viewer, runner or admin", 2)
	}
	name := args[0]
	tok := auth.NewToken()
	line := fmt.Sprintf("token %s %s %s", name, role, auth.HashToken(tok))
	if _, err := auth.Parse([]byte(line)); err != nil {
		return cli.Exit("trackd token: "+err.Error(), 2)
	}
	fmt.Fprintf(c.App.Writer, "%s=%s\n%s\n", auth.EnvToken, tok, line)
	fmt.Fprintf(c.App.ErrWriter, "trackd: give the first line to %s (the token is shown only now); add the second to the access file (--access)\n", name)
	return nil
}

func replay(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: trackd replay DIR", 2)
	}
	res, err := track.Replay(c.Context, c.Args().First(), track.ReplayOptions{Addr: c.String("addr")})
	if err != nil {
		return err
	}
	failed := false
	for _, r := range res {
		status := "ok"
		if r.Err != nil {
			status = r.Err.Error()
			failed = true
		}
		fmt.Fprintf(c.App.Writer, "%s: %d batches, %d records stored, %d rejected, %d artifacts: %s\n", r.Run, r.Batches, r.Records, r.Rejected, r.Blobs, status)
	}
	if len(res) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "trackd: no spool to replay in", c.Args().First())
	}
	if failed {
		return cli.Exit("", 1)
	}
	return nil
}

func export(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: trackd export RUN", 2)
	}
	id := c.Args().First()
	if addr := c.String("addr"); addr != "" {
		rd, err := track.Open(c.Context, addr, track.OpenOptions{})
		if err != nil {
			return err
		}
		defer rd.Close()
		s, err := rd.Export(c.Context, id)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, s)
		return nil
	}
	// --data and --store are accepted after "export" as well as before it
	// (the documented order is after, beside --addr).
	parent := c.Lineage()[1]
	for _, name := range []string{"data", "store"} {
		if c.IsSet(name) {
			if err := parent.Set(name, c.String(name)); err != nil {
				return err
			}
		}
	}
	if u := parent.String("store"); u == "" || u == "sqlite" { // any other URL: openStore says what it takes
		// Reading must not create: a mistyped --data would otherwise
		// become an empty store and the run "not found" in it.
		dir := parent.String("data")
		if _, err := os.Stat(filepath.Join(dir, sqlite.DBName)); err != nil {
			return cli.Exit(fmt.Sprintf("export: no store in %s (no %s there): --data names trackd's data directory, --addr a running trackd", dir, sqlite.DBName), 1)
		}
	}
	st, err := openStore(c.Context, parent, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := server.Export(c.Context, st, id)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, string(b))
	return nil
}

// firstPublicAddr is the first --public-addr name: the address cluster
// nodes reach trackd by (SIGOCO_TRACK_ADDR of Slurm jobs).
func firstPublicAddr(names []string) string {
	for _, n := range names {
		for _, a := range strings.Split(n, ",") {
			if a = strings.TrimSpace(a); a != "" {
				return a
			}
		}
	}
	return ""
}

// listenHint is a listen error with the flags that pick another port or
// address, since the usual cause is a second trackd on the default port.
func listenHint(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%v\n(another program, perhaps another trackd, has the port: pick another with --port N, or --port 0 for a free one; a second trackd also needs its own --data DIR)", err)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EACCES) {
		return fmt.Sprintf("%v\n(choose the address with --bind and the port with --port)", err)
	}
	return err.Error()
}
