package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/auditlog"
)

// Rows per multi-row INSERT: one statement per chunk instead of one per row
// cuts the per-statement cost of database/sql and the SQLite VM.
const (
	recordChunk = 64  // 8 columns: 512 placeholders
	hashChunk   = 200 // 2 columns: 400 placeholders
)

func insertSQL(table, cols string, ncols, nrows int) string {
	row := "(?" + strings.Repeat(",?", ncols-1) + ")"
	return "INSERT INTO " + table + " (" + cols + ") VALUES " + row + strings.Repeat(","+row, nrows-1)
}

func insertRecords(ctx context.Context, tx *sql.Tx, recs []auditlog.Record) error {
	args := make([]any, 0, 8*min(len(recs), recordChunk))
	for lo := 0; lo < len(recs); lo += recordChunk {
		chunk := recs[lo:min(lo+recordChunk, len(recs))]
		args = args[:0]
		for i := range chunk {
			r := &chunk[i]
			t, err := toNanos(r.Time)
			if err != nil {
				return err
			}
			var sealed any
			if r.Sealed != nil {
				sealed = r.Sealed
			}
			args = append(args, r.Index, r.ID, r.Tenant, r.Type, r.Envelope, t, r.Leaf, sealed)
		}
		q := insertSQL("records", recordColumns, 8, len(chunk))
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlite: append records at %d: %w", chunk[0].Index, err)
		}
	}
	return nil
}

func insertHashes(ctx context.Context, tx *sql.Tx, hashes []auditlog.HashEntry) error {
	args := make([]any, 0, 2*min(len(hashes), hashChunk))
	for lo := 0; lo < len(hashes); lo += hashChunk {
		chunk := hashes[lo:min(lo+hashChunk, len(hashes))]
		args = args[:0]
		for i := range chunk {
			args = append(args, chunk[i].Index, chunk[i].Hash[:])
		}
		q := insertSQL("hashes", "idx, hash", 2, len(chunk))
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlite: append hashes at %d: %w", chunk[0].Index, err)
		}
	}
	return nil
}
