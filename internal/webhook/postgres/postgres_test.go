package postgres_test

import (
	"os"
	"testing"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/webhook"
	webhookpostgres "github.com/signet-pki/signet/internal/webhook/postgres"
	"github.com/signet-pki/signet/internal/webhook/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestConformance runs the suite with two pools on one database (two
// nodes).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (webhook.Store, webhook.Store) {
		owner, _ := pgtest.NewDatabase(t)
		var out [2]webhook.Store
		for i := range out {
			pool, err := pgdb.Open(t.Context(), owner)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			s, err := webhookpostgres.New(t.Context(), pool)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = s
		}
		return out[0], out[1]
	})
}
