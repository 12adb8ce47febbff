// Package storetest is the conformance suite for [pki.Store]
// implementations (the PKI roles of a service). Every store runs it from
// its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Opener {
//			db := newDatabase(t)
//			return func(t *testing.T, m *keys.Manager) pki.Store { return open(t, db, m) }
//		})
//	}
package storetest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// An Opener opens a store over one database, creating role keys in m.
// Each call opens it anew (another connection pool: a reopened store, or a
// second node), on the same database.
type Opener func(t *testing.T, m *keys.Manager) pki.Store

// Run runs the suite; newDatabase returns the Opener of a new, empty
// database for each subtest.
func Run(t *testing.T, newDatabase func(t *testing.T) Opener) {
	t.Run("KeyAndCertificate", func(t *testing.T) { testKeyAndCertificate(t, newDatabase(t)) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newDatabase(t)) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, newDatabase(t)) })
	t.Run("ConcurrentFirstUse", func(t *testing.T) { testConcurrentFirstUse(t, newDatabase(t)) })
	t.Run("SetCertificateSwaps", func(t *testing.T) { testSetCertificateSwaps(t, newDatabase(t)) })
}

// Manager returns a key manager over in-memory metadata and a soft
// backend in a temporary directory, with an in-memory audit log.
func Manager(t *testing.T) *keys.Manager {
	t.Helper()
	ctx := context.Background()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	mk := make([]byte, soft.MasterKeySize)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	backend, err := soft.New(soft.Config{Dir: t.TempDir(), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	m, err := keys.New(ctx, keys.Config{Store: keys.NewMemStore(), Backends: []keys.Backend{backend}, Recorder: log})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// certificate returns a self-signed certificate for signer.
func certificate(t *testing.T, signer crypto.Signer, serial int64) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "role"},
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

// checkCertificate fails unless the stored certificate of role is want
// (nil: none).
func checkCertificate(t *testing.T, s pki.Store, role string, want *x509.Certificate) {
	t.Helper()
	got, err := s.Certificate(context.Background(), role)
	if err != nil {
		t.Fatalf("Certificate(%s): %v", role, err)
	}
	if (got == nil) != (want == nil) || want != nil && !got.Equal(want) {
		t.Fatalf("Certificate(%s) = %v, want %v", role, got, want)
	}
}

// testKeyAndCertificate: a role's key is created on first use, with the
// role's purpose, algorithm, tenant and the label "server ROLE", and then
// kept; the role has no certificate until one is set, then the last one
// set.
func testKeyAndCertificate(t *testing.T, open Opener) {
	ctx := context.Background()
	m := Manager(t)
	s := open(t, m)
	role := pki.TSARole
	checkCertificate(t, s, role.Name, nil)
	signer, ref, err := s.Key(ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Get(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.Purpose != role.Purpose || k.Algorithm != role.Algorithm || k.Tenant != role.Tenant || k.Label != "server "+role.Name {
		t.Fatalf("role key %+v", k)
	}
	if ref.Version != "1" || !k.Versions[0].Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
		t.Fatalf("signer of %s/v%s is not the key's active version", ref.ID, ref.Version)
	}
	_, again, err := s.Key(ctx, role)
	if err != nil || again != ref {
		t.Fatalf("second Key = %+v, %v; want %+v", again, err, ref)
	}
	first := certificate(t, signer, 1)
	if err := s.SetCertificate(ctx, role.Name, nil, first); err != nil {
		t.Fatal(err)
	}
	checkCertificate(t, s, role.Name, first)
	second := certificate(t, signer, 2)
	if err := s.SetCertificate(ctx, role.Name, first, second); err != nil {
		t.Fatal(err)
	}
	checkCertificate(t, s, role.Name, second)
}

// testReopen: another store over the same database (reopened, or another
// node) finds the role's key and certificate.
func testReopen(t *testing.T, open Opener) {
	ctx := context.Background()
	m := Manager(t)
	s := open(t, m)
	role := pki.RootRole
	signer, ref, err := s.Key(ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	cert := certificate(t, signer, 7)
	if err := s.SetCertificate(ctx, role.Name, nil, cert); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, m)
	if _, again, err := s2.Key(ctx, role); err != nil || again != ref {
		t.Fatalf("key after reopening: %+v, %v; want %+v", again, err, ref)
	}
	checkCertificate(t, s2, role.Name, cert)
}

// testRoles: each role has its own key and certificate.
func testRoles(t *testing.T, open Opener) {
	ctx := context.Background()
	m := Manager(t)
	s := open(t, m)
	roles := []pki.Role{pki.TSARole, pki.OCSPRole("acme", "acme"), pki.OCSPRole("other", "other")}
	ids := map[string]bool{}
	certs := map[string]*x509.Certificate{}
	for i, r := range roles {
		signer, ref, err := s.Key(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if ids[ref.ID] {
			t.Fatalf("role %s shares key %s", r.Name, ref.ID)
		}
		ids[ref.ID] = true
		if k, err := m.Get(ctx, ref.ID); err != nil || k.Tenant != r.Tenant {
			t.Fatalf("key of %s: %+v, %v; want tenant %q", r.Name, k, err, r.Tenant)
		}
		if i < 2 {
			certs[r.Name] = certificate(t, signer, int64(10+i))
			if err := s.SetCertificate(ctx, r.Name, nil, certs[r.Name]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range roles {
		checkCertificate(t, s, r.Name, certs[r.Name])
	}
	checkCertificate(t, s, "no such role", nil)
}

// testConcurrentFirstUse: two stores over one database (two nodes) asking
// at once for a role's key that does not exist yet all get the same key;
// a key created by a node that lost the race is revoked and destroyed, so
// that only one key of the role can sign.
func testConcurrentFirstUse(t *testing.T, open Opener) {
	ctx := context.Background()
	m := Manager(t)
	nodes := []pki.Store{open(t, m), open(t, m)}
	role := pki.OCSPRole("acme", "acme")
	const callers = 6
	refs := make([]ca.KeyRef, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, refs[i], errs[i] = nodes[i%2].Key(ctx, role)
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if refs[i] != refs[0] {
			t.Fatalf("callers got different keys: %+v and %+v", refs[0], refs[i])
		}
	}
	ks, err := m.List(ctx, role.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if k.ID == refs[0].ID || k.Label != "server "+role.Name {
			continue
		}
		if v := k.Versions[0]; v.State != keys.StateDestroyed {
			t.Errorf("key %s, created for %s by a node that lost the race, is %s; want destroyed", k.ID, role.Name, v.State)
		}
	}
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

func commonName(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return c.Subject.CommonName
}

// testSetCertificateSwaps: SetCertificate replaces only the certificate
// the caller names, across nodes: a writer that read an older one gets
// pki.ErrCertificateChanged and changes nothing; of writers racing from
// one certificate, exactly one wins; a role without a key is an error of
// another kind.
func testSetCertificateSwaps(t *testing.T, open Opener) {
	ctx := context.Background()
	m := Manager(t)
	a, b := open(t, m), open(t, m)
	role := pki.TSARole
	first, second := selfSigned(t, a, role, "first"), selfSigned(t, b, role, "second")
	steps := []struct {
		name    string
		store   pki.Store
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
		for i, st := range []pki.Store{a, b} {
			if got, err := st.Certificate(ctx, role.Name); err != nil || !got.Equal(s.nowCert) {
				t.Errorf("%s: node %d reads %q, %v; want %q", s.name, i, commonName(got), err, commonName(s.nowCert))
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
		st := []pki.Store{a, b}[i%2]
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
