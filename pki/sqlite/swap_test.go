package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/pki"
	pkisqlite "github.com/signet-pki/signet/pki/sqlite"
)

// twoNodes opens two stores over one service database and one key
// store, each with its own connections and key manager, as two processes
// do.
func twoNodes(t *testing.T) (a, b *pkisqlite.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	mk := make([]byte, 32)
	rand.Read(mk)
	var st [2]*pkisqlite.Store
	for i := range st {
		backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: mk})
		if err != nil {
			t.Fatal(err)
		}
		meta, err := keysqlite.Open(ctx, filepath.Join(dir, "keys.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		m, err := keys.New(ctx, keys.Config{Store: meta, Backends: []keys.Backend{backend}, Recorder: log})
		if err != nil {
			t.Fatal(err)
		}
		pool, err := sqldb.OpenPool(ctx, filepath.Join(dir, "signet.db"), nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		if st[i], err = pkisqlite.New(ctx, pool, m); err != nil {
			t.Fatal(err)
		}
	}
	return st[0], st[1]
}

// selfSigned returns a certificate for role's key in s.
func selfSigned(t *testing.T, s pki.Store, role pki.Role, cn string) *x509.Certificate {
	t.Helper()
	signer, _, err := s.Key(context.Background(), role)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSetCertificateSwaps: SetCertificate replaces only the certificate
// the caller names, across processes: a writer that read an older one
// gets pki.ErrCertificateChanged and changes nothing; of writers racing
// from one certificate, exactly one wins; a role without a key is an
// error of another kind.
func TestSetCertificateSwaps(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	role := pki.TSARole
	first, second := selfSigned(t, a, role, "first"), selfSigned(t, b, role, "second")

	steps := []struct {
		name    string
		store   *pkisqlite.Store
		old, c  *x509.Certificate
		want    error
		nowCert *x509.Certificate
	}{
		{"first, from none", a, nil, first, nil, first},
		{"from none again", b, nil, second, pki.ErrCertificateChanged, first},
		{"from a stale one", b, second, second, pki.ErrCertificateChanged, first},
		{"from the stored one", b, first, second, nil, second},
		{"back from the replaced one", a, first, first, pki.ErrCertificateChanged, second},
	}
	for _, s := range steps {
		err := s.store.SetCertificate(ctx, role.Name, s.old, s.c)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", s.name, err, s.want)
		}
		for i, st := range []*pkisqlite.Store{a, b} {
			if got, err := st.Certificate(ctx, role.Name); err != nil || !got.Equal(s.nowCert) {
				t.Errorf("%s: node %d reads %q, %v; want %q", s.name, i, cn(got), err, cn(s.nowCert))
			}
		}
	}

	if err := a.SetCertificate(ctx, "ca/nobody", nil, first); err == nil || errors.Is(err, pki.ErrCertificateChanged) {
		t.Errorf("certificate of a role without a key: %v", err)
	}

	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range writers {
		st := []*pkisqlite.Store{a, b}[i%2]
		c := selfSigned(t, st, role, "racer")
		wg.Go(func() {
			err := st.SetCertificate(ctx, role.Name, second, c)
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case !errors.Is(err, pki.ErrCertificateChanged):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d of %d racing writers replaced the certificate, want 1", won, writers)
	}
}

func cn(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return c.Subject.CommonName
}
