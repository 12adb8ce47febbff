package postgres_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/api"
	apipostgres "github.com/signet-pki/signet/internal/api/postgres"
	"github.com/signet-pki/signet/internal/api/storetest"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open returns a pool on a fresh database as its owner.
func open(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, owner
}

// TestConformance runs the idempotency stores' conformance suite on a
// fresh PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) api.IdempotencyStore {
		pool, _ := open(t)
		s, err := apipostgres.New(t.Context(), pool)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestSecretNotAtRest: the database holds no byte of a secret response's
// header or body, and refuses a row that would.
func TestSecretNotAtRest(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	s, err := apipostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "sk_secret-that-is-shown-only-once"
	now := time.Now()
	rec := api.IdempotencyRecord{Principal: "api_key:a", Key: "k", RequestHash: sha256.Sum256([]byte("req")), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if prev, err := s.Reserve(ctx, rec, now, now); err != nil || prev != nil {
		t.Fatalf("reserve: %v %v", prev, err)
	}
	rec.Done, rec.Secret, rec.Status = true, true, 201
	rec.Header = http.Header{"X-Secret": {secret}}
	rec.Body = []byte(`{"secret":"` + secret + `"}`)
	if err := s.Complete(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var header string
	var body []byte
	var status int
	if err := pool.QueryRow(ctx, `SELECT header, body, status FROM api_idempotency`).Scan(&header, &body, &status); err != nil {
		t.Fatal(err)
	}
	if header != "{}" || len(body) != 0 || status != 201 {
		t.Fatalf("stored header %q, body %q, status %d", header, body, status)
	}
	_, err = pool.Exec(ctx, `UPDATE api_idempotency SET body = '\x00'::bytea`)
	if err == nil {
		t.Fatal("the database accepted a body in a secret record")
	}
}

// TestNodesShareRecords: two nodes (pools) on one database, each opening
// the store at the same moment, see each other's reservations, and of
// their racing requests for one key exactly one runs.
func TestNodesShareRecords(t *testing.T) {
	_, owner := open(t)
	ctx := t.Context()
	var stores [2]*apipostgres.Store
	var wg sync.WaitGroup
	var errs [2]error
	for i := range stores {
		p, err := pgdb.Open(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		wg.Go(func() { stores[i], errs[i] = apipostgres.New(ctx, p) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := func(i int) api.IdempotencyRecord {
		return api.IdempotencyRecord{Principal: "api_key:a", Key: "k", RequestHash: sha256.Sum256([]byte("req")), CreatedAt: now, ExpiresAt: now.Add(time.Hour), Status: i}
	}
	var won [2]int
	for round := range 8 {
		for i, s := range stores {
			wg.Go(func() {
				prev, err := s.Reserve(ctx, rec(i), now, now.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				} else if prev == nil {
					won[i]++
				}
			})
		}
		wg.Wait()
		if won[0]+won[1] != round+1 {
			t.Fatalf("round %d: reservations won %v, want one per round", round, won)
		}
		if err := stores[round%2].Release(ctx, "api_key:a", "k"); err != nil {
			t.Fatal(err)
		}
	}
}
