package postgres

import "context"

// Parent runs (store/parent.go): a column of runs, indexed to list a
// run's children.

const parentSchema = `ALTER TABLE runs ADD COLUMN parent TEXT NOT NULL DEFAULT '';
	CREATE INDEX runs_parent ON runs(parent, id);`

// RunExists implements store.ParentTx.
func (in *ingest) RunExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := in.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, id).Scan(&ok)
	return ok, fatal(err)
}

// SetParent implements store.ParentTx.
func (in *ingest) SetParent(ctx context.Context, parent string) error {
	return in.exec(ctx, `UPDATE runs SET parent = $1 WHERE id = $2`, parent, in.run)
}
