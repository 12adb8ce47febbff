package accounts_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
)

// FuzzVerifyCredential checks the API key verifier over a store holding
// one key: it never panics, only that key's exact secret authenticates,
// and every other credential is refused as unauthorized (never as a
// failure to check).
func FuzzVerifyCredential(f *testing.F) {
	ctx := context.Background()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(f.TempDir(), "signet.db"), nil, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pool.Close() })
	st, err := accountssqlite.New(ctx, pool)
	if err != nil {
		f.Fatal(err)
	}
	secret, k, err := accounts.NewAPIKey(nil, "t-1", "ci", []string{api.ScopeDocumentsRead}, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	if err := st.CreateKey(ctx, k); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "sk_", secret, secret[:len(secret)-1] + "A", strings.ToUpper(secret), accounts.KeyPrefix + strings.Repeat("A", 43),
		accounts.KeyPrefix + strings.Repeat("=", 43), accounts.KeyPrefix + strings.Repeat("é", 22), " " + secret} {
		f.Add(s)
	}
	v := accounts.KeyVerifier{Keys: st}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := v.VerifyCredential(ctx, s)
		if s == secret {
			if err != nil || p.ID != k.ID {
				t.Fatalf("the key's secret: %+v %v", p, err)
			}
			return
		}
		if !errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("%q: principal %+v, error %v; want unauthorized", s, p, err)
		}
	})
}
