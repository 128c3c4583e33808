package main

import (
	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/track/server"
)

// quotaFlags are the per-identity quotas and the upload bounds
// (docs/security.md, "Quotas"). 0 keeps a default, -1 turns a quota off.
func quotaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-open-runs", Usage: "open runs (not final, not crashed) one identity may have started; more are refused (0: 1000; -1: no limit; admins are not limited)"},
		&cli.IntFlag{Name: "max-queued-jobs", Usage: "jobs one identity may have pending, queued or running; create_job beyond is refused (0: 100; -1: no limit)"},
		&cli.IntFlag{Name: "max-leases", Usage: "memo leases one identity may hold at once (0: 1000; -1: no limit)"},
		&cli.StringFlag{Name: "max-upload-bytes", Usage: "partial (uncommitted) artifact upload bytes of one identity; 512M, 4G, … (0: the larger of 1G and the largest artifact, 4G)"},
		&cli.StringFlag{Name: "max-upload-total", Usage: "partial artifact upload bytes of all identities (0: 4 × --max-upload-bytes)"},
	}
}

// applyQuotas reads quotaFlags into the server's options (the jobs'
// quota: jobsQuota).
func applyQuotas(c *cli.Context, opts *server.Options) error {
	opts.Quotas = server.Quotas{MaxOpenRuns: c.Int("max-open-runs"), MaxLeases: c.Int("max-leases")}
	for name, dst := range map[string]*int64{"max-upload-bytes": &opts.MaxUploadBytes, "max-upload-total": &opts.MaxUploadTotal} {
		if s := c.String(name); s != "" {
			n, err := parseSize(s)
			if err != nil {
				return cli.Exit("--"+name+": "+err.Error(), 2)
			}
			*dst = n
		}
	}
	return nil
}

// jobsQuota is jobs.Options.MaxQueuedJobs from --max-queued-jobs.
func jobsQuota(c *cli.Context) int { return c.Int("max-queued-jobs") }
