package pgdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// connectTimeout bounds how long [Open] waits for the first connection.
const connectTimeout = 30 * time.Second

// Open returns a pool of connections to the database at url (a
// postgres:// URL or a key=value connection string) after checking that
// the database answers. Every session runs with synchronous_commit=on, so
// a commit returns only once its record is flushed. The caller must Close
// the pool. Errors never include the URL, which may hold a password.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors may quote the string; say only what failed.
		return nil, errors.New("pgdb: the database URL is not a valid PostgreSQL connection string")
	}
	// pool_max_conns in the URL wins.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > connectTimeout {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgdb: connect: %w", err)
	}
	return pool, nil
}

// ValidURL reports whether url parses as a PostgreSQL connection string
// (a postgres:// URL or key=value pairs). It never reports why: pgx's
// parse errors may quote the string, which may hold a password.
func ValidURL(url string) bool {
	_, err := pgxpool.ParseConfig(url)
	return err == nil
}

// DefaultMaxConns is the size of a pool unless the URL's pool_max_conns
// says otherwise: enough for the requests a node serves at once (pgx's
// own default is the number of CPUs, at least 4).
const DefaultMaxConns = 16

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation
// (SQLSTATE 23505): an INSERT or UPDATE hit a primary key or a UNIQUE
// constraint.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
