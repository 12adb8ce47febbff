package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/api/storetest"
	"github.com/signet-pki/signet/internal/sqldb"
)

// TestMigrationScrubsSecrets: idempotency records stored before responses
// carrying secrets were marked keep only their marker after the upgrade,
// and the secret's bytes are gone from the database files.
func TestMigrationScrubsSecrets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "signet.db")
	const keySecret = "sk_Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eHF1dXgxMjM0"
	const session = "ss_c2Vzc2lvbi10b2tlbi1zaG93bi1vbmNlLW9ubHktb25jZQ"
	old := map[string]string{
		"key":     `{"id":"k1","name":"ci","scopes":[],"prefix":"sk_Zm9v","created_at":"2026-01-01T00:00:00Z","secret":"` + keySecret + `"}`,
		"session": `{"session":"` + session + `","expires_at":"2026-01-01T00:00:00Z"}`,
		"plain":   `{"id":"t-1","name":"Acme"}`,
	}
	pool, err := sqldb.OpenPool(ctx, path, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqldb.Migrate(ctx, pool.Writer(), apisqlite.Migrations[:1]); err != nil {
		t.Fatal(err)
	}
	for k, body := range old {
		if _, err := pool.Writer().ExecContext(ctx, `INSERT INTO api_idempotency (principal, key, request_hash, done, status, header, body, created_at, expires_at)
			VALUES ('api_key:a', ?, x'00', 1, 201, '{"Content-Type":["application/json"]}', ?, '2026-01-01T00:00:00Z', '2999-01-01T00:00:00Z')`, k, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	pool.Close()

	pool, err = sqldb.OpenPool(ctx, path, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := apisqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	for k, body := range old {
		rec, err := st.Reserve(ctx, api.IdempotencyRecord{Principal: "api_key:a", Key: k}, now, now)
		if err != nil || rec == nil {
			t.Fatalf("%s: %v %v", k, rec, err)
		}
		wantSecret := k != "plain"
		if rec.Secret != wantSecret || rec.Status != 201 {
			t.Errorf("%s: secret %v status %d", k, rec.Secret, rec.Status)
		}
		if wantSecret && (len(rec.Body) != 0 || len(rec.Header) != 0) {
			t.Errorf("%s: kept %q %v", k, rec.Body, rec.Header)
		}
		if !wantSecret && string(rec.Body) != body {
			t.Errorf("%s: body %q", k, rec.Body)
		}
	}
	pool.Close()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{keySecret, session} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret after the migration", f.Name())
			}
		}
	}
}

// TestConformance runs the idempotency stores' conformance suite on a
// fresh service database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) api.IdempotencyStore {
		ctx := context.Background()
		pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		s, err := apisqlite.New(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
