package postgres

import (
	"context"
	"fmt"

	"github.com/sigoco/sigoco/track/store"
)

// SeriesChunks implements store.ChunkPager: a page of a series' encoded
// chunks after afterSeq, read in one short query.
func (s *Store) SeriesChunks(ctx context.Context, run, key string, afterSeq int64, limit int) ([][]byte, int64, error) {
	rows, err := s.query(ctx, `SELECT first_seq, data FROM chunks WHERE run = ? AND key = ? AND first_seq > ? ORDER BY first_seq LIMIT ?`, run, key, afterSeq, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	var last int64
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&last, &data); err != nil {
			return nil, 0, fmt.Errorf("postgres: %w", err)
		}
		out = append(out, data)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("postgres: %w", err)
	}
	return out, last, nil
}

var _ store.ChunkPager = (*Store)(nil)
