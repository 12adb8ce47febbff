package apisql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-pki/signet/store/sqlite"
)

// OpenDB opens (creating if needed) the service database at path for
// writing: WAL journal, synchronous=FULL, a 10 s busy timeout, foreign
// keys on, and transactions that take the write lock at BEGIN
// (BEGIN IMMEDIATE), through a single connection so that writers
// serialize in the pool rather than failing with SQLITE_BUSY.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sqlite.OpenDB(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("apisql: %w", err)
	}
	return db, nil
}
