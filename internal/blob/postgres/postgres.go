// Package postgres stores Signet's documents in PostgreSQL (pgx v5,
// through internal/pgdb), implementing [blob.Store] and the listing,
// modification time and base lookups that garbage collection needs
// (workflow.BlobCollector). It behaves as [blob.FS] does: a blob's name is
// the lowercase hex SHA-256 of its content, Put is atomic, and a revision
// (Append) is stored as a reference to its base plus its tail, with the
// SHA-256 state after the whole content, so that the next revision is
// hashed without reading what came before.
//
// # Tables
//
// Its migrations own versions 800–899 of schema_migrations. There is no
// SQLite counterpart (the SQLite deployment keeps blobs in files, see
// [blob.FS]), so the names are this package's own:
//
//	blobs        name        text        the SHA-256, 64 lowercase hex digits
//	             size        bigint      the whole content's length
//	             base        text        the blob a revision extends, NULL if whole
//	             depth       integer     revisions between this blob and a whole one
//	             state       bytea       crypto/sha256's marshaled state after the content
//	             content     bigint      the id of the blob's chunks (unique)
//	             created_at  timestamptz when the row was inserted
//	             touched_at  timestamptz when it was last written, re-put or appended to
//	blob_chunks  content     bigint      the blobs row's content id
//	             n           integer     the chunk's number, from 0
//	             data        bytea       1 MiB of content (the last chunk may be shorter)
//
// A whole blob's chunks hold its content; a revision's hold only its tail,
// the bytes after its base's. Chunks are stored uncompressed (STORAGE
// EXTERNAL): documents are mostly compressed already.
//
// # Streaming and atomicity
//
// Put writes each chunk as soon as it has read it, inside one transaction,
// under a random content id, hashing as it goes; only once the content is
// read does it know the name and insert the blobs row, then commit. No
// reader sees a partial blob, and a Put whose reader fails rolls
// everything back. A foreign key from blob_chunks to blobs, checked at
// commit, keeps the database from ever holding chunks without their row.
// Concurrent Puts of the same content both write their chunks; the second
// to insert the row waits for the first to commit, finds the row, discards
// its own chunks and refreshes the row's touched_at, so both succeed with
// one copy stored. A 100 MB Put holds about one chunk in memory.
//
// [Store.Open] reads the revision chain's rows in one statement and
// returns a reader that fetches chunks on demand, keeping the last two it
// fetched; it holds no connection between reads. A revision's reader
// reads its base's chunks through the base's rows. A Put, on the other
// hand, holds a connection for as long as its reader takes: the pool's
// size bounds how many uploads are stored at once.
//
// # Revisions and deletion
//
// A revision's base column references the base's row with ON DELETE
// CASCADE: deleting a blob deletes the revisions that extend it (where
// [blob.FS] leaves them unreadable), and the database never holds a
// revision without its base. Garbage collection keeps the base of every
// blob it keeps, so only unkept revisions go. Append refreshes its base's
// touched_at before writing, so a collector that spares recently touched
// blobs does not remove the base under it. A chain is at most 32
// revisions deep, as in [blob.FS]; the next revision is stored whole.
//
// A reader that outlives its blob (deleted while being read) fails with
// an error wrapping [blob.ErrNotFound] at the first chunk it had not yet
// fetched.
package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/pgdb"
)

const (
	// chunkSize is the length of every chunk but a blob's last. The
	// migration's CHECK on blob_chunks.data allows no more.
	chunkSize = 1 << 20
	// maxDepth bounds a revision chain, as in blob.FS: the revision that
	// would exceed it is stored whole. The migration's CHECK on
	// blobs.depth allows no more.
	maxDepth = 32
	// walkPage is how many names Walk reads per query.
	walkPage = 1000
	// lookupTimeout bounds the lookups that take no context (ModTime,
	// Base).
	lookupTimeout = time.Minute
)

// Migrations are the schema history of the blob tables on PostgreSQL.
// A released migration is never edited.
var Migrations = []pgdb.Migration{{
	Version: 800,
	Name:    "blobs in chunks, revisions by base",
	SQL: `
CREATE TABLE blobs (
	name       TEXT        PRIMARY KEY CHECK (name ~ '^[0-9a-f]{64}$'),
	size       BIGINT      NOT NULL CHECK (size >= 0),
	base       TEXT        REFERENCES blobs (name) ON DELETE CASCADE,
	depth      INTEGER     NOT NULL CHECK (depth BETWEEN 0 AND 32),
	state      BYTEA       NOT NULL CHECK (octet_length(state) BETWEEN 1 AND 256),
	content    BIGINT      NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	touched_at TIMESTAMPTZ NOT NULL,
	CHECK ((base IS NULL) = (depth = 0))
);
CREATE INDEX blobs_base ON blobs (base) WHERE base IS NOT NULL;
CREATE TABLE blob_chunks (
	content BIGINT  NOT NULL REFERENCES blobs (content) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	n       INTEGER NOT NULL CHECK (n >= 0),
	data    BYTEA   NOT NULL CHECK (octet_length(data) BETWEEN 1 AND 1048576),
	PRIMARY KEY (content, n)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
`,
}}

// Store is a [blob.Store] in a PostgreSQL database. It is safe for
// concurrent use, by several processes on one database too.
type Store struct {
	pool *pgxpool.Pool
	// Now returns the time stamped on blobs written, re-put or appended
	// to (see [Store.ModTime]); nil means time.Now.
	Now func() time.Time
}

var _ blob.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("blob/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Put implements [blob.Store]: it streams r into chunk rows in one
// transaction and inserts the blob's row at the end (see the package
// documentation). When the content is already stored, whole or as a
// revision, Put keeps that copy and refreshes its touched_at instead.
// It holds one of the pool's connections until r is read, so the pool
// bounds the uploads stored at once.
func (s *Store) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	return s.store(ctx, sha256.New(), r, "", 0, 0)
}

// Append implements [blob.Store]. The new blob is stored as a revision of
// base: chunk rows with only tail's bytes, and a row naming base, hashed
// from the SHA-256 state recorded for base, so that base's bytes are
// neither read nor copied. A base that is itself 32 revisions deep gets a
// whole copy instead. Append refreshes base's touched_at first.
func (s *Store) Append(ctx context.Context, base string, tail io.Reader) (string, int64, error) {
	if err := blob.CheckName(base); err != nil {
		return "", 0, err
	}
	var size int64
	var depth int
	var state []byte
	err := s.pool.QueryRow(ctx,
		`UPDATE blobs SET touched_at = GREATEST(touched_at, $2) WHERE name = $1 RETURNING size, depth, state`,
		base, s.now()).Scan(&size, &depth, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, fmt.Errorf("blob/postgres: append: %w: %s", blob.ErrNotFound, base)
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: append: %w", err)
	}
	h, err := restore(base, size, state)
	if err != nil {
		return "", 0, err
	}
	if depth >= maxDepth {
		rd, _, err := s.Open(ctx, base)
		if err != nil {
			return "", 0, err
		}
		defer rd.Close()
		return s.Put(ctx, io.MultiReader(rd, tail))
	}
	return s.store(ctx, h, tail, base, size, depth+1)
}

// store writes everything read from r as chunks of a new blob whose
// content starts with base's (size baseSize; "" for a whole blob), h being
// in the state after base's content, and inserts the blob's row.
func (s *Store) store(ctx context.Context, h hash.Hash, r io.Reader, base string, baseSize int64, depth int) (name string, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	content, err := newContentID()
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	buf := make([]byte, chunkSize)
	k, rerr := io.ReadFull(r, buf)
	if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", rerr)
	}
	if rerr != nil {
		// At most one chunk: the whole transaction in one round trip.
		h.Write(buf[:k])
		return s.storeOne(ctx, h, buf[:k], content, base, baseSize, depth)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	n := int64(0)
	for chunk := 0; ; chunk++ {
		if chunk > 0 {
			if err := ctx.Err(); err != nil {
				return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
			}
			k, rerr = io.ReadFull(r, buf)
			if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
				return "", 0, fmt.Errorf("blob/postgres: put: %w", rerr)
			}
		}
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			if _, err := tx.Exec(ctx, `INSERT INTO blob_chunks (content, n, data) VALUES ($1, $2, $3)`, content, chunk, buf[:k]); err != nil {
				return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
			}
		}
		if rerr != nil {
			break
		}
	}
	name = hex.EncodeToString(h.Sum(nil))
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	var baseCol *string
	if base != "" {
		baseCol = &base
	}
	now := s.now()
	var stored int64
	// A concurrent Put of the same content waits here for the other
	// transaction; once it commits, the conflict keeps its row.
	err = tx.QueryRow(ctx, `
INSERT INTO blobs (name, size, base, depth, state, content, created_at, touched_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (name) DO UPDATE SET touched_at = GREATEST(blobs.touched_at, EXCLUDED.touched_at)
RETURNING content`, name, baseSize+n, baseCol, depth, state, content, now).Scan(&stored)
	if isForeignKeyViolation(err) {
		return "", 0, fmt.Errorf("blob/postgres: append: %w: %s (deleted meanwhile)", blob.ErrNotFound, base)
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	if stored != content {
		// Already stored: drop this copy's chunks.
		if _, err = tx.Exec(ctx, `DELETE FROM blob_chunks WHERE content = $1`, content); err != nil {
			return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
		}
	}
	if err = tx.Commit(ctx); err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	return name, baseSize + n, nil
}

// storeOne stores a blob of at most one chunk (data, already hashed into
// h) as store does, in one round trip: BEGIN, the chunk's row, the blob's
// row, the removal of the chunk if the content was already stored, and
// COMMIT are pipelined up to one Sync. A failure leaves the session in an
// aborted transaction, which the pool closes instead of reusing.
func (s *Store) storeOne(ctx context.Context, h hash.Hash, data []byte, content int64, base string, baseSize int64, depth int) (string, int64, error) {
	name := hex.EncodeToString(h.Sum(nil))
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	var baseCol *string
	if base != "" {
		baseCol = &base
	}
	size := baseSize + int64(len(data))
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	if len(data) > 0 {
		b.Queue(`INSERT INTO blob_chunks (content, n, data) VALUES ($1, 0, $2)`, content, data)
	}
	// A concurrent Put of the same content waits here for the other
	// transaction; once it commits, the conflict keeps its row, and this
	// copy's chunk is removed: the blob's row names this content only if
	// it was inserted.
	b.Queue(`
INSERT INTO blobs (name, size, base, depth, state, content, created_at, touched_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (name) DO UPDATE SET touched_at = GREATEST(blobs.touched_at, EXCLUDED.touched_at)`,
		name, size, baseCol, depth, state, content, s.now())
	if len(data) > 0 {
		b.Queue(`DELETE FROM blob_chunks WHERE content = $1 AND NOT EXISTS (SELECT FROM blobs WHERE content = $1)`, content)
	}
	b.Queue("COMMIT")
	err = s.pool.SendBatch(ctx, b).Close()
	if isForeignKeyViolation(err) {
		return "", 0, fmt.Errorf("blob/postgres: append: %w: %s (deleted meanwhile)", blob.ErrNotFound, base)
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob/postgres: put: %w", err)
	}
	return name, size, nil
}

// newContentID returns a random id for a new blob's chunks. Two Puts
// drawing the same id would collide on blob_chunks' primary key and fail,
// never mix their chunks.
func newContentID() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:])), nil
}

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// restore returns a SHA-256 in the state recorded for blob name of the
// given size.
func restore(name string, size int64, state []byte) (hash.Hash, error) {
	h := sha256.New()
	if stateLength(state) != size || h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) != nil {
		return nil, fmt.Errorf("blob/postgres: %w: %s has an unusable hash state", blob.ErrCorrupt, name)
	}
	return h, nil
}

// stateLength returns the message length recorded in a marshaled SHA-256
// state (its last 8 bytes, big-endian), or -1.
func stateLength(state []byte) int64 {
	if len(state) < 8 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(state[len(state)-8:]))
}

// Digest implements [blob.Store] from the recorded state; it reads no
// content.
func (s *Store) Digest(ctx context.Context, name string) (hash.Hash, error) {
	if err := blob.CheckName(name); err != nil {
		return nil, err
	}
	var size int64
	var state []byte
	err := s.pool.QueryRow(ctx, `SELECT size, state FROM blobs WHERE name = $1`, name).Scan(&size, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("blob/postgres: digest: %w: %s", blob.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/postgres: digest: %w", err)
	}
	return restore(name, size, state)
}

// Delete implements [blob.Store]. It also deletes the revisions that
// extend the blob, which could not be read without it; callers delete
// only blobs that no kept blob has as its base (see [Store.Base]).
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := blob.CheckName(name); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM blobs WHERE name = $1`, name); err != nil {
		return fmt.Errorf("blob/postgres: delete: %w", err)
	}
	return nil
}

// ModTime returns when the blob was last written, re-put or appended to,
// for garbage collectors that must spare blobs a request may be about to
// reference.
func (s *Store) ModTime(name string) (time.Time, error) {
	if err := blob.CheckName(name); err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	var t time.Time
	err := s.pool.QueryRow(ctx, `SELECT touched_at FROM blobs WHERE name = $1`, name).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, fmt.Errorf("blob/postgres: %w: %s", blob.ErrNotFound, name)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("blob/postgres: %w", err)
	}
	return t, nil
}

// Base returns the blob that revision name extends, or "" if name is
// stored whole. Garbage collection keeps the base of every blob it keeps.
func (s *Store) Base(name string) (string, error) {
	if err := blob.CheckName(name); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	var base *string
	err := s.pool.QueryRow(ctx, `SELECT base FROM blobs WHERE name = $1`, name).Scan(&base)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("blob/postgres: %w: %s", blob.ErrNotFound, name)
	}
	if err != nil {
		return "", fmt.Errorf("blob/postgres: %w", err)
	}
	if base == nil {
		return "", nil
	}
	return *base, nil
}

// Walk calls fn with the name of every stored blob, in no particular
// order, until fn returns an error (which Walk returns). It reads the
// names a page at a time and holds no connection while fn runs, so fn may
// use the database.
func (s *Store) Walk(ctx context.Context, fn func(name string) error) error {
	after := ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT name FROM blobs WHERE name > $1 ORDER BY name LIMIT $2`, after, walkPage)
		if err != nil {
			return fmt.Errorf("blob/postgres: walk: %w", err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("blob/postgres: walk: %w", err)
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(name); err != nil {
				return err
			}
		}
		if len(names) < walkPage {
			return nil
		}
		after = names[len(names)-1]
	}
}
