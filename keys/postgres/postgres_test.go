package postgres_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/keys"
	keyspostgres "github.com/signet-pki/signet/keys/postgres"
	"github.com/signet-pki/signet/keys/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// database returns the owner URL of a fresh database.
func database(t *testing.T) string {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	return owner
}

func newStore(t *testing.T, pool *pgxpool.Pool) *keyspostgres.Store {
	t.Helper()
	s, err := keyspostgres.New(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the key store suite on a fresh PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keys.Store { return newStore(t, pgtest.Pool(t, database(t))) })
}

// TestTwoNodes: two stores on two pools of one database (two nodes) see
// each other's keys, and Updates of one key racing from both lose no
// increment; a key created on one node cannot be created again on the
// other.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	url := database(t)
	a, b := newStore(t, pgtest.Pool(t, url)), newStore(t, pgtest.Pool(t, url))
	k := &keys.Key{ID: "k1", Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.AES256, Backend: "soft",
		Versions: []keys.Version{{Number: 1, Handle: "h1", State: keys.StateActive}}}
	if err := a.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, k); err == nil || !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Create on the second node = %v, want ErrExists", err)
	}
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, s := range []*keyspostgres.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each / 2 {
				if err := s.Update(ctx, "k1", func(c *keys.Key) error { c.Versions[0].Usage++; return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for name, s := range map[string]*keyspostgres.Store{"a": a, "b": b} {
		got, err := s.Get(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if u := got.Versions[0].Usage; u != 2*each {
			t.Fatalf("node %s reads usage %d after %d increments from two nodes", name, u, 2*each)
		}
	}
}
