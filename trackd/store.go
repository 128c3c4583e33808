package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// openStore opens the store --store names: SQLite in --data (the default,
// and the embedded store of --demo), or PostgreSQL for a postgres:// or
// postgresql:// URL, with artifact contents in --artifacts (default
// DATA/artifacts; the word postgres: in the database). The password is best given by PGPASSWORD or a
// PGPASSFILE (pgx reads libpq's variables), or the whole URL by
// SIGOCO_TRACK_STORE, so that it is not on the command line ps shows.
func openStore(ctx context.Context, c *cli.Context, log *slog.Logger) (store.Store, error) {
	u := c.String("store")
	if isPostgres(u) {
		dir := c.String("artifacts")
		if dir == artifactsInDatabase {
			return postgres.Open(ctx, u, postgres.Options{BlobsInDatabase: true, Logger: log})
		}
		if dir == "" {
			dir = filepath.Join(c.String("data"), "artifacts")
		}
		return postgres.Open(ctx, u, postgres.Options{BlobDir: dir, Logger: log})
	}
	if u != "" && u != "sqlite" {
		return nil, cli.Exit("trackd: --store is a postgres:// URL, or sqlite (the default: the database in --data), not "+redact(u), 2)
	}
	return sqlite.Open(ctx, c.String("data"), sqlite.Options{Logger: log, Synchronous: c.String("synchronous")})
}

// artifactsInDatabase is the --artifacts value that keeps artifact
// contents in the PostgreSQL database (a directory of that name is
// ./postgres).
const artifactsInDatabase = "postgres"

func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// redact hides what follows the scheme of a store URL in an error message
// (it may hold a password).
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[:i+3] + "…"
	}
	if len(u) > 16 {
		return u[:16] + "…"
	}
	return u
}
