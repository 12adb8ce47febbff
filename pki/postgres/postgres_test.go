package postgres_test

import (
	"os"
	"testing"

	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	pkipostgres "github.com/signet-pki/signet/pki/postgres"
	"github.com/signet-pki/signet/pki/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestConformance runs the PKI roles suite on a fresh PostgreSQL
// database; each opening is another pool (another node) on it.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		owner, _ := pgtest.NewDatabase(t)
		return func(t *testing.T, m *keys.Manager) pki.Store {
			s, err := pkipostgres.New(t.Context(), pgtest.Pool(t, owner), m)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
