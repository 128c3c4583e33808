package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strconv"
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
	return []cli.Flag{
		&cli.StringFlag{Name: "node-name", Usage: "this node's name in its logs (default HOSTNAME:PORT)"},
	}
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
