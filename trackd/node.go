package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Running several trackd nodes (docs/scaling.md): the node's name in its
// logs, the operators' routes, jobs by state in /metrics.

func nodeFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "node-name", Usage: "this node's name in its logs (default HOSTNAME:PORT)"},
	}, nodeCredFlags()...)
}

// nodeLogger names the node in every log record.
func nodeLogger(c *cli.Context, log *slog.Logger) *slog.Logger {
	name := c.String("node-name")
	if name == "" {
		host, _ := os.Hostname()
		name = host + ":" + strconv.Itoa(c.Int("port"))
	}
	log = log.With("node", name)
	log.Info("trackd: starting", "pid", os.Getpid())
	return log
}

// nodeOps: /metrics needs a viewer identity of the access file (as the
// dashboard reads it) unless asked from loopback past the Host check;
// /healthz and /readyz are open.
func nodeOps(hosts *dashboard.HostCheck, access *auth.Access) server.OpsOptions {
	o := server.OpsOptions{HostAllowed: hosts.Allowed}
	if access != nil {
		a := dashboard.NewAuth(access)
		o.Identity = func(r *http.Request) (auth.Identity, error) { return a.Identity(r) }
	}
	return o
}

// jobStates are the states /metrics counts jobs in.
var jobStates = []jobs.State{jobs.StatePending, jobs.StateStarted, jobs.StateSuccess, jobs.StateFailed, jobs.StateAborted}

// maxJobsCounted bounds the jobs of one state a scrape counts (pages of
// 1000 runs from the store); a count at the bound means "at least".
const maxJobsCounted = 100_000

// jobsCollector reports sigoco_track_jobs{state} from the store (every
// node's jobs on a shared database), when scraped.
type jobsCollector struct {
	st   store.Store
	desc *prometheus.Desc
}

func registerJobMetrics(srv *server.Server, st store.Store) {
	srv.Metrics().MustRegister(&jobsCollector{st: st, desc: prometheus.NewDesc("sigoco_track_jobs",
		"Jobs by state, in the store (all nodes' on a shared database; counted up to 100000 per state).", []string{"state"}, nil)})
}

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- j.desc }

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range jobStates {
		n, after := 0, ""
		for n < maxJobsCounted {
			page, err := j.st.ListRuns(ctx, store.RunFilter{Tags: []string{store.TagJob, store.TagStatePrefix + string(s)}, After: after, Limit: 1000})
			if err != nil {
				ch <- prometheus.NewInvalidMetric(j.desc, err)
				return
			}
			n += len(page.Runs)
			if after = page.Next; after == "" {
				break
			}
		}
		ch <- prometheus.MustNewConstMetric(j.desc, prometheus.GaugeValue, float64(n), string(s))
	}
}

// envNodeToken holds the node credential when --node-token-file is not
// given.
const envNodeToken = "SIGOCO_NODE_TOKEN"

func nodeCredFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "node-addr", Usage: "`HOST:PORT` other nodes on the same --store reach this one by, to forward calls to the objects runs expose here (default: the first --public-addr, else the listening address; with a wildcard --bind, HOSTNAME:PORT)"},
		&cli.StringFlag{Name: "node-token-file", Usage: "`FILE` holding the node credential every node of one --store shares (default $" + envNodeToken + "); with --access, it authenticates nodes to each other as the admin identity \"trackd-node\""},
	}
}

// nodeOptions returns what the server needs to forward to other nodes on a
// shared store, and adds the node credential to access.
func nodeOptions(c *cli.Context, ln net.Listener, access *auth.Access, tlsc *tls.Config, log *slog.Logger) (server.NodeOptions, error) {
	if !isPostgres(c.String("store")) {
		return server.NodeOptions{}, nil
	}
	o := server.NodeOptions{Addr: c.String("node-addr"), TLS: tlsc}
	if o.Addr == "" {
		if pub := c.StringSlice("public-addr"); len(pub) > 0 {
			o.Addr = firstPublicAddr(pub)
		} else if ip := net.ParseIP(c.String("bind")); ip != nil && ip.IsUnspecified() {
			host, _ := os.Hostname()
			o.Addr = net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		} else {
			o.Addr = ln.Addr().String()
		}
	}
	tok := os.Getenv(envNodeToken)
	if f := c.String("node-token-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return o, cli.Exit("trackd: --node-token-file: "+err.Error(), 2)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok != "" && len(tok) < 16 {
		return o, cli.Exit("trackd: the node credential is shorter than 16 characters", 2)
	}
	o.Token = tok
	if access != nil {
		if tok == "" {
			log.Warn("trackd: no node credential (--node-token-file or $" + envNodeToken + "): calls to objects exposed on other nodes will be refused there")
		} else {
			access.AddToken(tok, auth.Identity{Name: server.DefaultNodeIdentity, Role: auth.Admin})
		}
	}
	return o, nil
}

// nodeJobs is the jobs target of a node on a shared store: stop_job for a
// job another node runs (the node holding the job's run lease: the one its
// heartbeats reach) is forwarded to that node, which stops the process;
// without forwarding, this node would mark a job it does not run aborted
// and leave its process running.
type nodeJobs struct {
	*jobs.API
	srv *server.Server
}

// jobsTarget returns the jobs rpc target: api itself, or with job
// control forwarded when the server is one of several nodes (forwarding).
func jobsTarget(srv *server.Server, api *jobs.API, forwarding bool) any {
	if !forwarding {
		return api
	}
	return &nodeJobs{API: api, srv: srv}
}

// StopJob stops a job, on the node that runs it.
func (n *nodeJobs) StopJob(ctx context.Context, id string) (*jobs.Job, error) {
	// The caller's right first: the other node sees this node's identity.
	if err := jobs.AuthorizeControl(ctx, n.srv, id, "stop"); err != nil {
		return nil, err
	}
	var j jobs.Job
	ok, err := n.srv.ForwardCall(ctx, &j, id, jobs.TargetName, "stop_job", id)
	if !ok {
		return n.API.StopJob(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return &j, nil
}
