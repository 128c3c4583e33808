package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// Job leases (store.JobLeases): one row per followed job, the node that
// follows it and when it last renewed (the database's clock, Unix ns).
const jobLeaseSchema = `CREATE TABLE job_leases (job TEXT PRIMARY KEY, node TEXT NOT NULL, heard BIGINT NOT NULL)`

var _ store.JobLeases = (*Store)(nil)

// TakeJobs implements store.JobLeases. A take is one INSERT … ON CONFLICT
// DO UPDATE … WHERE: PostgreSQL locks a conflicting row and evaluates the
// WHERE on its latest committed version, so of two nodes taking an expired
// lease at once the second finds it renewed by the first and takes
// nothing. The jobs are taken in sorted order, so that nodes taking
// overlapping sets lock rows in one order (no deadlock).
func (s *Store) TakeJobs(ctx context.Context, jobs []string, expiry time.Duration) ([]string, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(jobs)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	return s.queryStrings(ctx, `INSERT INTO job_leases (job, node, heard)
		SELECT j, $2, `+dbNowNs+` FROM unnest($1::text[]) WITH ORDINALITY AS t(j, i) ORDER BY i
		ON CONFLICT (job) DO UPDATE SET node = excluded.node, heard = excluded.heard
		WHERE job_leases.node = excluded.node OR job_leases.heard < excluded.heard - $3
		RETURNING job`, sorted, s.node, expiry.Nanoseconds())
}

// RenewJobs implements store.JobLeases.
func (s *Store) RenewJobs(ctx context.Context, jobs []string) ([]string, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(jobs)
	slices.Sort(sorted)
	held, err := s.queryStrings(ctx, `UPDATE job_leases SET heard = `+dbNowNs+`
		WHERE job = ANY($1::text[]) AND node = $2 RETURNING job`, sorted, s.node)
	if err != nil {
		return nil, err
	}
	var lost []string
	for _, j := range jobs {
		if !slices.Contains(held, j) {
			lost = append(lost, j)
		}
	}
	return lost, nil
}

// Unfollowed implements store.JobLeases.
func (s *Store) Unfollowed(ctx context.Context, jobs []string, expiry time.Duration) ([]string, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	return s.queryStrings(ctx, `SELECT j FROM unnest($1::text[]) AS j
		WHERE NOT EXISTS (SELECT 1 FROM job_leases l WHERE l.job = j AND l.heard >= `+dbNowNs+` - $2)`, jobs, expiry.Nanoseconds())
}

// ReleaseJobs implements store.JobLeases.
func (s *Store) ReleaseJobs(ctx context.Context, jobs []string) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM job_leases WHERE job = ANY($1::text[]) AND node = $2`, jobs, s.node); err != nil {
		return unavailable(fmt.Errorf("postgres: %w", err))
	}
	return nil
}

// queryStrings runs a query whose rows are one text column (ids) and
// returns them; a failure is unavailable (the client retries).
func (s *Store) queryStrings(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("postgres: %w", err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable(fmt.Errorf("postgres: %w", err))
	}
	return ids, nil
}
