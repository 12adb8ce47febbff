package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/webhook/storetest"
)

// TestConformance runs the suite with two pools on one database file
// (two processes sharing signet.db).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (webhook.Store, webhook.Store) {
		path := filepath.Join(t.TempDir(), "signet.db")
		var out [2]webhook.Store
		for i := range out {
			p, err := sqldb.OpenPool(context.Background(), path, nil, 2)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			s, err := webhooksqlite.New(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = s
		}
		return out[0], out[1]
	})
}
