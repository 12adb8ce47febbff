package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/blob/internal/chunkread"
)

// Open implements [blob.Store]. It reads the rows of the blob and of the
// bases it extends in one statement; the reader it returns fetches their
// chunks as they are read.
func (s *Store) Open(ctx context.Context, name string) (blob.Reader, int64, error) {
	if err := blob.CheckName(name); err != nil {
		return nil, 0, err
	}
	rows, err := s.pool.Query(ctx, `
WITH RECURSIVE chain (name, size, base, depth, content, level) AS (
	SELECT name, size, base, depth, content, 0 FROM blobs WHERE name = $1
	UNION ALL
	SELECT b.name, b.size, b.base, b.depth, b.content, c.level + 1
	FROM blobs b JOIN chain c ON b.name = c.base
	WHERE c.level <= $2
)
SELECT name, size, base, depth, content FROM chain ORDER BY level DESC`, name, maxDepth)
	if err != nil {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w", err)
	}
	type link struct {
		name    string
		size    int64
		base    *string
		depth   int
		content int64
	}
	chain, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (link, error) {
		var l link
		err := row.Scan(&l.name, &l.size, &l.base, &l.depth, &l.content)
		return l, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w", err)
	}
	if len(chain) == 0 {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w: %s", blob.ErrNotFound, name)
	}
	// chain runs from the whole blob up to name; check that each row
	// extends the one before, as its columns say.
	segs := make([]chunkread.Segment[int64], 0, len(chain))
	var prev *link
	for i := range chain {
		l := &chain[i]
		ok := l.depth == i && len(chain) <= maxDepth+1
		start := int64(0)
		if prev == nil {
			ok = ok && l.base == nil
		} else {
			ok = ok && l.base != nil && *l.base == prev.name && l.size >= prev.size
			start = prev.size
		}
		if !ok {
			return nil, 0, fmt.Errorf("blob/postgres: open: %w: %s has an inconsistent chain of bases", blob.ErrCorrupt, name)
		}
		if l.size > start {
			segs = append(segs, chunkread.Segment[int64]{Key: l.content, Start: start, Len: l.size - start})
		}
		prev = l
	}
	r, err := chunkread.New(ctx, "blob/postgres", name, segs, chunkSize, s.fetch)
	if err != nil {
		return nil, 0, err
	}
	return r, r.Size(), nil
}

// fetch returns chunk n of the chunks with content id content.
func (s *Store) fetch(ctx context.Context, content, n int64, buf []byte) ([]byte, error) {
	data := pgtype.PreallocBytes(buf)
	err := s.pool.QueryRow(ctx, `SELECT data FROM blob_chunks WHERE content = $1 AND n = $2`, content, n).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: chunk %d (deleted while being read)", blob.ErrNotFound, n)
	}
	return data, err
}
