package postgres_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/pki/ca"
	capostgres "github.com/signet-pki/signet/pki/ca/postgres"
	"github.com/signet-pki/signet/pki/ca/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newStore(t *testing.T, pool *pgxpool.Pool) *capostgres.Store {
	t.Helper()
	s, err := capostgres.New(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the CA store suite on a fresh PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ca.Store {
		owner, _ := pgtest.NewDatabase(t)
		return newStore(t, pgtest.Pool(t, owner))
	})
}

// TestSealed runs the sealed-record suite on PostgreSQL; the bytes at
// rest are every column of every row of the CA's tables, as PostgreSQL
// prints them (bytea in hex).
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (ca.Store, func(*testing.T) []byte) {
		owner, _ := pgtest.NewDatabase(t)
		pool := pgtest.Pool(t, owner)
		return newStore(t, pool), func(t *testing.T) []byte {
			t.Helper()
			var all []byte
			for _, table := range []string{"ca_certificates", "ca_crl_numbers"} {
				rows, err := pool.Query(t.Context(), `SELECT t::text FROM `+table+` t`)
				if err != nil {
					t.Fatal(err)
				}
				texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range texts {
					all = append(all, r...)
					all = append(all, '\n')
				}
			}
			return all
		}
	})
}

// TestTwoNodes: two stores on two pools of one database (two nodes)
// racing for CRL numbers never get the same one, and the numbers have no
// gap; certificates inserted and revoked from both nodes are listed in one
// order that both nodes read alike, and a certificate revoked on one node
// is already revoked for the other.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	owner, _ := pgtest.NewDatabase(t)
	nodes := []*capostgres.Store{newStore(t, pgtest.Pool(t, owner)), newStore(t, pgtest.Pool(t, owner))}
	const workers, each = 4, 15
	var (
		mu   sync.Mutex
		seen = map[int64]bool{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		s := nodes[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n, err := s.NextCRLNumber(ctx, "acme")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n.Int64()] {
					t.Errorf("CRL number %v handed out twice", n)
				}
				seen[n.Int64()] = true
				mu.Unlock()
				serial := int64(1000*(w+1) + i)
				r := ca.Record{Serial: big.NewInt(serial), Issuer: "acme", Kind: ca.KindSigner, Key: ca.KeyRef{ID: "k", Version: "1"},
					Subject: "CN=x", NotBefore: time.Unix(0, 0), NotAfter: time.Unix(3600, 0), Status: ca.StatusGood, DER: []byte{0x30}}
				if err := s.Insert(ctx, r); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Revoke(ctx, r.Serial, ca.ReasonSuperseded, time.Unix(60, 0), time.Time{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for n := int64(1); n <= workers*each; n++ {
		if !seen[n] {
			t.Errorf("CRL number %d never handed out", n)
		}
	}
	var lists [2][]string
	for i, s := range nodes {
		rs, err := s.Revoked(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			lists[i] = append(lists[i], r.Serial.String())
		}
		if byKey, err := s.ByKey(ctx, "k", "1"); err != nil || len(byKey) != workers*each {
			t.Fatalf("node %d: ByKey = %d records, %v; want %d", i, len(byKey), err, workers*each)
		}
	}
	if len(lists[0]) != workers*each || len(lists[0]) != len(lists[1]) {
		t.Fatalf("revoked lists of %d and %d records, want %d", len(lists[0]), len(lists[1]), workers*each)
	}
	for i := range lists[0] {
		if lists[0][i] != lists[1][i] {
			t.Fatalf("the nodes list revocations in different orders at %d: %s, %s", i, lists[0][i], lists[1][i])
		}
	}
	if _, err := nodes[1].Revoke(ctx, big.NewInt(1000), ca.ReasonKeyCompromise, time.Unix(90, 0), time.Time{}); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Fatalf("revoking again on the other node: %v, want ErrAlreadyRevoked", err)
	}
}

// TestNumberingUsesIndexes checks with EXPLAIN that numbering a new
// certificate or revocation reads an index, not every certificate issued
// so far.
func TestNumberingUsesIndexes(t *testing.T) {
	ctx := context.Background()
	owner, _ := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, owner)
	newStore(t, pool)
	for _, q := range []string{
		"SELECT coalesce(max(issued_seq), 0) + 1 FROM ca_certificates",
		"SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates",
	} {
		rows, err := pool.Query(ctx, "EXPLAIN "+q)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, "Index Only Scan Backward") || strings.Contains(joined, "Seq Scan") {
			t.Errorf("%s: plan %q scans the table", q, joined)
		}
	}
}
