package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// mapStore keeps roles in memory, over a real key manager.
type mapStore struct {
	m     *keys.Manager
	mu    sync.Mutex
	ids   map[string]string
	certs map[string]*x509.Certificate
}

func (s *mapStore) Key(ctx context.Context, r pki.Role) (crypto.Signer, ca.KeyRef, error) {
	s.mu.Lock()
	id, ok := s.ids[r.Name]
	s.mu.Unlock()
	if !ok {
		k, err := s.m.Create(ctx, keys.CreateRequest{Purpose: r.Purpose, Algorithm: r.Algorithm, Tenant: r.Tenant, Label: r.Name})
		if err != nil {
			return nil, ca.KeyRef{}, err
		}
		id = k.ID
		s.mu.Lock()
		s.ids[r.Name] = id
		s.mu.Unlock()
	}
	sg, ref, err := s.m.Signer(ctx, id, r.Purpose, r.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, err
	}
	return sg, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

func (s *mapStore) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certs[role], nil
}

func (s *mapStore) SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.certs[role]; !cur.Equal(old) {
		return pki.ErrCertificateChanged
	}
	s.certs[role] = c
	return nil
}

type env struct {
	store   *mapStore
	caStore *casqlite.Store
	audit   *auditlog.Log
	// rec is the key manager's recorder, in front of audit.
	rec *recorder
	now time.Time
}

// recorder passes events to the audit log, keeps the key.used events, and
// can be told to fail.
type recorder struct {
	log  *auditlog.Log
	fail atomic.Bool

	mu   sync.Mutex
	used []auditlog.Event
}

func (r *recorder) Record(ctx context.Context, e auditlog.Event) error {
	if r.fail.Load() {
		return errors.New("audit storage is down")
	}
	if err := r.log.Record(ctx, e); err != nil {
		return err
	}
	if e.Type == auditlog.KeyUsed {
		r.mu.Lock()
		r.used = append(r.used, e)
		r.mu.Unlock()
	}
	return nil
}

// keyUsed returns the key.used events recorded for key id.
func (r *recorder) keyUsed(id string) []auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []auditlog.Event
	for _, e := range r.used {
		if e.Subject.KeyID == id {
			out = append(out, e)
		}
	}
	return out
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{3}, 32))
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
	backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := keysqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	rec := &recorder{log: log}
	m, err := keys.New(ctx, keys.Config{Store: meta, Backends: []keys.Backend{backend}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := casqlite.Open(ctx, filepath.Join(dir, "pki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return &env{store: &mapStore{m: m, ids: map[string]string{}, certs: map[string]*x509.Certificate{}}, caStore: cs, audit: log, rec: rec, now: time.Now()}
}

// start builds a PKI over the environment at the environment's clock, as
// a process start does.
func (e *env) start(t *testing.T, tenants ...string) *pki.PKI {
	t.Helper()
	p, _ := e.startWithRenewer(t, tenants...)
	return p
}

// startWithRenewer is [env.start] that also returns the PKI's renewer.
func (e *env) startWithRenewer(t *testing.T, tenants ...string) (*pki.PKI, *ca.Renewer) {
	t.Helper()
	now := func() time.Time { return e.now }
	renewer := &ca.Renewer{Now: now}
	a, err := ca.New(ca.Config{Store: e.caStore, Recorder: e.audit, BaseURL: "http://pki.example", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pki.New(pki.Config{
		Store: e.store, Authority: a, Now: now,
		CRLs:    &crl.Publisher{Source: e.caStore, Now: now},
		OCSP:    &ocsp.Responder{Store: e.caStore, Now: now},
		Renewer: renewer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetUp(context.Background(), tenants); err != nil {
		t.Fatal(err)
	}
	return p, renewer
}

// TestRestartKeepsCertificates: a second start over the same roles reuses
// every certificate.
func TestRestartKeepsCertificates(t *testing.T) {
	e := newEnv(t)
	p1 := e.start(t, "acme")
	p2 := e.start(t, "acme")
	for _, role := range []string{"ca/root", "ca/platform", "ca/acme", "ocsp/platform", "ocsp/acme", "tsa"} {
		c1, c2 := p1.Cert(role), p2.Cert(role)
		if c1 == nil || c2 == nil || !bytes.Equal(c1.Raw, c2.Raw) {
			t.Errorf("%s: certificate changed across a restart", role)
		}
	}
}

// TestRotatedKeysGetCertificates: after the issuing CA's and the TSA's
// keys are rotated, the next start certifies the new versions, and the
// served endpoints use them.
func TestRotatedKeysGetCertificates(t *testing.T) {
	e := newEnv(t)
	p1 := e.start(t, "acme")
	ctx := context.Background()
	for _, role := range []string{"ca/acme", "tsa"} {
		if _, err := e.store.m.Rotate(ctx, e.store.ids[role]); err != nil {
			t.Fatal(err)
		}
	}
	p2 := e.start(t, "acme")
	for _, role := range []string{"ca/acme", "tsa"} {
		old, renewed := p1.Cert(role), p2.Cert(role)
		if bytes.Equal(old.RawSubjectPublicKeyInfo, renewed.RawSubjectPublicKeyInfo) {
			t.Errorf("%s: no certificate for the rotated key", role)
		}
	}
	srv := httptest.NewServer(p2)
	defer srv.Close()
	digest := sha256.Sum256([]byte("rotated"))
	tok, err := (&tsa.Client{URLs: []string{srv.URL + "/tsa"}}).Timestamp(ctx, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if signer, err := tok.SignedData.SignerCertificate(); err != nil || !bytes.Equal(signer.Raw, p2.Cert("tsa").Raw) {
		t.Errorf("the TSA signed with %v (%v), not its renewed certificate", signer, err)
	}
	resp, err := http.Get(srv.URL + "/ca/acme.crt")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(der, p2.Cert("ca/acme").Raw) {
		t.Error("/ca/acme.crt does not serve the renewed certificate")
	}
	if resp, _ := http.Get(srv.URL + "/ca/nobody.crt"); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Error("an unknown CA is not a 404")
	}
}

// TestDueCertificatesRenewedAtStart: three years and a half on, the
// issuing CAs (five years, renewed after two thirds) and the TSA get new
// certificates for the same keys at start.
func TestDueCertificatesRenewedAtStart(t *testing.T) {
	e := newEnv(t)
	p1 := e.start(t)
	e.now = e.now.AddDate(3, 6, 0)
	p2 := e.start(t)
	for _, role := range []string{"ca/platform", "tsa", "ocsp/platform"} {
		old, renewed := p1.Cert(role), p2.Cert(role)
		if bytes.Equal(old.Raw, renewed.Raw) {
			t.Errorf("%s: not renewed", role)
		}
		if !bytes.Equal(old.RawSubjectPublicKeyInfo, renewed.RawSubjectPublicKeyInfo) {
			t.Errorf("%s: renewal changed the key", role)
		}
	}
	if !bytes.Equal(p1.Cert("ca/root").Raw, p2.Cert("ca/root").Raw) {
		t.Error("the root was re-issued")
	}
}
