package sqlite

import "context"

// Parent runs (store/parent.go): a column of runs, indexed to list a
// run's children.

const parentSchema = `ALTER TABLE runs ADD COLUMN parent TEXT NOT NULL DEFAULT '';
	CREATE INDEX runs_parent ON runs(parent, id);`

// RunExists implements store.ParentTx.
func (in *ingest) RunExists(ctx context.Context, id string) (bool, error) {
	var n int
	err := in.queryRow(ctx, `SELECT count(*) FROM runs WHERE id = ?`, id).Scan(&n)
	return n > 0, fatal(err)
}

// SetParent implements store.ParentTx.
func (in *ingest) SetParent(ctx context.Context, parent string) error {
	_, err := in.exec(ctx, `UPDATE runs SET parent = ? WHERE id = ?`, parent, in.run)
	return fatal(err)
}
