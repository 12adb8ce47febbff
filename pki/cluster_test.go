package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
	pkisqlite "github.com/signet-pki/signet/pki/sqlite"
	"github.com/signet-pki/signet/tsa"
)

// cluster is what several Signet nodes share: one service database (the
// roles), the CA's records, the key manager's metadata and sealed keys
// (with one master key), one audit log and one clock. Each [node] opens
// its own connections to them and runs its own PKI, as a process does.
type cluster struct {
	dir   string
	mk    []byte
	audit *auditlog.Log

	mu  sync.Mutex
	now time.Time
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(context.Background(), auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	mk := make([]byte, 32)
	rand.Read(mk)
	return &cluster{dir: t.TempDir(), mk: mk, audit: log, now: time.Now()}
}

func (c *cluster) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *cluster) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// node is one Signet process over the cluster's databases.
type node struct {
	*pki.PKI
	roles     *pkisqlite.Store
	keys      *keys.Manager
	caStore   *casqlite.Store
	authority *ca.Authority
	renewer   *ca.Renewer
	srv       *httptest.Server
}

// node opens a node over the cluster, as a process start does, without
// setting up its PKI; wrap, if set, stands between the PKI and its role
// store.
func (c *cluster) node(t *testing.T, wrap func(pki.Store) pki.Store) *node {
	t.Helper()
	ctx := context.Background()
	backend, err := soft.New(soft.Config{Dir: filepath.Join(c.dir, "keys"), MasterKey: c.mk})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := keysqlite.Open(ctx, filepath.Join(c.dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	m, err := keys.New(ctx, keys.Config{Store: meta, Backends: []keys.Backend{backend}, Recorder: c.audit, Now: c.clock})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := sqldb.OpenPool(ctx, filepath.Join(c.dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	roles, err := pkisqlite.New(ctx, pool, m)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := casqlite.Open(ctx, filepath.Join(c.dir, "pki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	a, err := ca.New(ca.Config{Store: cs, Recorder: c.audit, BaseURL: "http://pki.example", Now: c.clock})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{roles: roles, keys: m, caStore: cs, authority: a, renewer: &ca.Renewer{Now: c.clock}}
	var st pki.Store = roles
	if wrap != nil {
		st = wrap(roles)
	}
	if n.PKI, err = pki.New(pki.Config{
		Store: st, Authority: a, Renewer: n.renewer, Now: c.clock,
		CRLs: &crl.Publisher{Source: cs, Now: c.clock},
		OCSP: &ocsp.Responder{Store: cs, Now: c.clock},
	}); err != nil {
		t.Fatal(err)
	}
	n.srv = httptest.NewServer(n.PKI)
	t.Cleanup(n.srv.Close)
	return n
}

// start opens a node and sets up its PKI with tenants.
func (c *cluster) start(t *testing.T, tenants ...string) *node {
	t.Helper()
	n := c.node(t, nil)
	if err := n.SetUp(context.Background(), tenants); err != nil {
		t.Fatal(err)
	}
	return n
}

var evidence = ca.AuthEvidence{Methods: []string{"otp"}, AssuranceLevel: "aal1", Time: time.Unix(1700000000, 0)}

// issueSigner has n's CA certify a new key for a recipient of tenant.
func (n *node) issueSigner(t *testing.T, tenant string) (*x509.Certificate, error) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return n.authority.IssueSigner(context.Background(), ca.Identity{Name: "Ann Example", Email: "ann@example.com", Tenant: tenant}, evidence, k.Public(), ca.KeyRef{})
}

// get fetches path from n's PKI endpoints.
func (n *node) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(n.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// ocspStatus asks n's OCSP responder about cert of CA issuer, checking
// the response's signature, and returns the status and the responder's
// certificate.
func (n *node) ocspStatus(t *testing.T, cert, issuer *x509.Certificate) (int, *x509.Certificate) {
	t.Helper()
	req, err := xocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(n.srv.URL+"/ocsp", ocsp.ContentTypeRequest, bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := xocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		t.Fatalf("OCSP response of %s for %x: %v", n.srv.URL, cert.SerialNumber, err)
	}
	return r.Status, r.Certificate
}

// crlHas reports whether n's CRL of CA name, signed by issuer, lists
// serial.
func (n *node) crlHas(t *testing.T, name string, issuer *x509.Certificate, serial *big.Int) bool {
	t.Helper()
	code, der := n.get(t, "/crl/"+name+".crl")
	if code != http.StatusOK {
		t.Fatalf("/crl/%s.crl: %d", name, code)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL of %s: %v", name, err)
	}
	for _, e := range l.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}

// TestTenantOfAnotherNode: a tenant's CA, created on node A after node B
// started, is found by B: B certifies the tenant's signers with it (a
// lookup by name loads it from the store), serves its certificate and
// CRL, and, once refreshed, answers OCSP for it and renews it. Nothing
// is created for a tenant whose CA is not in the store.
func TestTenantOfAnotherNode(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a := c.start(t)
	b := c.start(t)
	if err := a.Issuing(ctx, "acme", "acme"); err != nil {
		t.Fatal(err)
	}
	caCert := a.Cert("ca/acme")

	signer, err := b.issueSigner(t, "acme")
	if err != nil {
		t.Fatalf("node B certifying a signer of a tenant created on A: %v", err)
	}
	if err := signer.CheckSignatureFrom(caCert); err != nil {
		t.Errorf("B's signer certificate is not from the tenant's CA: %v", err)
	}
	if iss, err := b.authority.Issuer("acme"); err != nil || !iss.Certificate.Equal(caCert) {
		t.Errorf("B's issuer acme: %v, %v", iss, err)
	}
	if code, der := b.get(t, "/ca/acme.crt"); code != http.StatusOK || !bytes.Equal(der, caCert.Raw) {
		t.Errorf("B's /ca/acme.crt: %d", code)
	}
	if b.crlHas(t, "acme", caCert, signer.SerialNumber) {
		t.Error("a good certificate is on B's CRL")
	}

	// A tenant created on A and not yet used on B: B's OCSP responder
	// answers for it once B refreshes with the tenant list.
	if err := a.Issuing(ctx, "globex", "globex"); err != nil {
		t.Fatal(err)
	}
	leaf, err := a.issueSigner(t, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx, []string{"acme", "globex", "ghost"}); err != nil {
		t.Fatal(err)
	}
	st, responder := b.ocspStatus(t, leaf, a.Cert("ca/globex"))
	if st != xocsp.Good || responder == nil || !responder.Equal(a.Cert("ocsp/globex")) {
		t.Errorf("B's OCSP for a tenant created on A: status %d, responder %v", st, responder)
	}
	for _, role := range []string{"ca/globex", "ocsp/globex", "ca/acme", "ocsp/acme"} {
		if !b.Cert(role).Equal(a.Cert(role)) {
			t.Errorf("%s differs between the nodes", role)
		}
	}

	// A tenant without a CA in the store is not created by B.
	if _, err := b.issueSigner(t, "ghost"); !errors.Is(err, ca.ErrUnknownIssuer) {
		t.Errorf("a signer for a tenant without a CA: %v, want ErrUnknownIssuer", err)
	}
	if code, _ := b.get(t, "/ca/ghost.crt"); code != http.StatusNotFound {
		t.Errorf("/ca/ghost.crt: %d", code)
	}
	if ks, err := b.keys.List(ctx, "ghost"); err != nil || len(ks) != 0 {
		t.Errorf("keys created for a tenant without a CA: %v, %v", ks, err)
	}

	// B's renewer, given the lease years later, renews the tenants it
	// loaded, and A adopts the renewal.
	before := map[string]*x509.Certificate{}
	for _, role := range []string{"ca/acme", "ca/globex", "ocsp/globex", "ocsp/acme"} {
		before[role] = b.Cert(role)
	}
	c.advance(4 * 365 * 24 * time.Hour)
	if err := b.renewer.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for role, old := range before {
		if now := b.Cert(role); now.Equal(old) || !now.NotAfter.After(c.clock()) {
			t.Errorf("%s: not renewed by B's renewer", role)
		}
	}
	if err := a.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"ca/acme", "ca/globex", "ocsp/globex", "ocsp/acme", "tsa"} {
		if !a.Cert(role).Equal(b.Cert(role)) {
			t.Errorf("%s: A did not adopt B's renewal", role)
		}
	}
}

// issuedCount counts the certificates issued for the key of id.
func issuedCount(t *testing.T, n *node, id string) int {
	t.Helper()
	rs, err := n.caStore.ByKey(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// roleKey returns the key id of role.
func roleKey(t *testing.T, n *node, r pki.Role) string {
	t.Helper()
	_, ref, err := n.roles.Key(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return ref.ID
}

// TestRenewalOnAnotherNode: what node A renews, node B adopts, at its
// next refresh or when its own renewer comes to the same certificates,
// without issuing them a second time; every endpoint of B then uses the
// renewed certificates.
func TestRenewalOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	for _, adopt := range []string{"refresh", "renewer"} {
		t.Run(adopt, func(t *testing.T) {
			c := newCluster(t)
			a := c.start(t, "acme")
			b := c.start(t, "acme")
			old := b.Cert("ca/acme")
			leaf, err := b.issueSigner(t, "acme")
			if err != nil {
				t.Fatal(err)
			}
			c.advance(4 * 365 * 24 * time.Hour)
			if err := a.renewer.Check(ctx); err != nil {
				t.Fatal(err)
			}
			roles := map[string]pki.Role{
				"ca/platform": pki.IssuingRole(ca.PlatformName, ""), "ca/acme": pki.IssuingRole("acme", "acme"),
				"ocsp/acme": pki.OCSPRole("acme", "acme"), "ocsp/platform": pki.OCSPRole(ca.PlatformName, ""), "tsa": pki.TSARole,
			}
			issued := map[string]int{}
			for name, r := range roles {
				if a.Cert(name).Equal(b.Cert(name)) {
					t.Fatalf("%s: not renewed on A", name)
				}
				issued[name] = issuedCount(t, a, roleKey(t, a, r))
			}
			switch adopt {
			case "refresh":
				err = b.Refresh(ctx, nil)
			case "renewer":
				err = b.renewer.Check(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range roles {
				if !a.Cert(name).Equal(b.Cert(name)) {
					t.Errorf("%s: B did not adopt A's renewal", name)
				}
				if n := issuedCount(t, b, roleKey(t, b, r)); n != issued[name] {
					t.Errorf("%s: %d certificates after B's %s, want %d", name, n, adopt, issued[name])
				}
			}

			// B's endpoints use the renewed certificates.
			renewed := a.Cert("ca/acme")
			if iss, err := b.authority.Issuer("acme"); err != nil || !iss.Certificate.Equal(renewed) {
				t.Error("B's CA acme does not use its renewed certificate")
			}
			signer, err := b.issueSigner(t, "acme")
			if err != nil || signer.NotAfter.After(renewed.NotAfter) || signer.CheckSignatureFrom(renewed) != nil {
				t.Errorf("B's signer certificate under the renewed CA: %v", err)
			}
			if _, responder := b.ocspStatus(t, leaf, old); !responder.Equal(a.Cert("ocsp/acme")) {
				t.Error("B's OCSP responder does not use its renewed certificate")
			}
			if code, der := b.get(t, "/ca/acme.crt"); code != http.StatusOK || !bytes.Equal(der, renewed.Raw) {
				t.Error("B's /ca/acme.crt is not the renewed certificate")
			}
			b.crlHas(t, "acme", renewed, big.NewInt(1))
			digest := make([]byte, 32)
			tok, err := (&tsa.Client{URLs: []string{b.srv.URL + "/tsa"}}).Timestamp(ctx, crypto.SHA256, digest)
			if err != nil {
				t.Fatal(err)
			}
			if sc, err := tok.SignedData.SignerCertificate(); err != nil || !sc.Equal(a.Cert("tsa")) {
				t.Error("B's TSA does not sign with the renewed certificate")
			}
		})
	}
}

// racingStore lets another node renew between this node's read of a
// role's certificate and its write of a successor.
type racingStore struct {
	pki.Store
	before func(role string)
}

func (s *racingStore) SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error {
	if s.before != nil {
		s.before(role)
	}
	return s.Store.SetCertificate(ctx, role, old, c)
}

// TestRacingRenewals: two renewers that renew the same certificates at
// once (node A stores its renewal between B's read and B's write) leave
// one current certificate per role, used by both nodes; B's superseded
// certificates are revoked.
func TestRacingRenewals(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a := c.start(t, "acme")
	rs := &racingStore{}
	b := c.node(t, func(s pki.Store) pki.Store { rs.Store = s; return rs })
	if err := b.SetUp(ctx, []string{"acme"}); err != nil {
		t.Fatal(err)
	}
	c.advance(4 * 365 * 24 * time.Hour)
	var once sync.Once
	rs.before = func(string) {
		once.Do(func() {
			if err := a.renewer.Check(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	if err := b.renewer.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ca/platform", "ocsp/platform", "tsa", "ca/acme", "ocsp/acme"} {
		stored, err := b.roles.Certificate(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.Equal(a.Cert(name)) || !stored.Equal(b.Cert(name)) {
			t.Errorf("%s: the nodes disagree with the store", name)
		}
	}
	// Every certificate of the platform CA's key but the one in use and
	// the one it replaced is revoked.
	rs2, err := b.caStore.ByKey(ctx, roleKey(t, b, pki.IssuingRole(ca.PlatformName, "")), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs2) != 3 {
		t.Fatalf("%d certificates of the platform CA's key, want the first, A's and B's", len(rs2))
	}
	for _, r := range rs2 {
		inUse := r.Serial.Cmp(b.Cert("ca/platform").SerialNumber) == 0
		first := r.NotBefore.Before(c.clock().Add(-time.Hour))
		if revoked := r.Status == ca.StatusRevoked; revoked == (inUse || first) {
			t.Errorf("certificate %x (in use %v, first %v): status %s", r.Serial, inUse, first, r.Status)
		}
	}
}

// TestSimultaneousFirstStart: two nodes that set up an empty cluster at
// the same time end with one root, one CA per name and one key per role.
func TestSimultaneousFirstStart(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a, b := c.node(t, nil), c.node(t, nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range []*node{a, b} {
		wg.Go(func() { errs[i] = n.SetUp(ctx, []string{"acme"}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ca/root", "ca/platform", "ocsp/platform", "tsa", "tsa-archive", "ca/acme", "ocsp/acme"} {
		stored, err := a.roles.Certificate(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.Equal(a.Cert(name)) || !stored.Equal(b.Cert(name)) {
			t.Errorf("%s: the nodes disagree with the store", name)
		}
	}
	if ks, err := a.keys.List(ctx, ""); err != nil {
		t.Fatal(err)
	} else {
		active := 0
		for _, k := range ks {
			if k.Active() != nil {
				active++
			}
		}
		// root, platform CA, platform OCSP, TSA, archive TSA
		if active != 5 {
			t.Errorf("%d active platform keys, want 5", active)
		}
	}
}

// TestRevocationOnAnotherNode: a certificate revoked through node A is
// revoked in node B's OCSP answers (even one B had answered "good" for)
// and on B's CRL at once.
func TestRevocationOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a := c.start(t, "acme")
	b := c.start(t, "acme")
	leaf, err := b.issueSigner(t, "acme")
	if err != nil {
		t.Fatal(err)
	}
	issuer := b.Cert("ca/acme")
	for _, n := range []*node{a, b} {
		if st, _ := n.ocspStatus(t, leaf, issuer); st != xocsp.Good {
			t.Fatalf("status %d before the revocation", st)
		}
		if n.crlHas(t, "acme", issuer, leaf.SerialNumber) {
			t.Fatal("on the CRL before the revocation")
		}
	}
	if _, err := a.authority.Revoke(ctx, leaf.SerialNumber, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []*node{a, b} {
		if st, _ := n.ocspStatus(t, leaf, issuer); st != xocsp.Revoked {
			t.Errorf("node %d: OCSP status %d after the revocation, want revoked", i, st)
		}
		if !n.crlHas(t, "acme", issuer, leaf.SerialNumber) {
			t.Errorf("node %d: not on the CRL after the revocation", i)
		}
	}
}

// TestConcurrentLookups: requests on node B for a tenant created on A,
// arriving at once with B's refresh and renewal check, all find the
// tenant's CA, which B loads once.
func TestConcurrentLookups(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a := c.start(t)
	b := c.start(t)
	if err := a.Issuing(ctx, "initech", "initech"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 8 {
		wg.Go(func() {
			if _, err := b.issueSigner(t, "initech"); err != nil {
				errs <- err
			}
		})
	}
	wg.Go(func() { errs <- b.Refresh(ctx, []string{"initech"}) })
	wg.Go(func() { errs <- b.renewer.Check(ctx) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, role := range []string{"ca/initech", "ocsp/initech"} {
		if !b.Cert(role).Equal(a.Cert(role)) {
			t.Errorf("%s: B does not use A's certificate", role)
		}
	}
	// Nothing was issued twice.
	if n := issuedCount(t, b, roleKey(t, b, pki.IssuingRole("initech", "initech"))); n != 1 {
		t.Errorf("%d certificates of initech's CA key, want 1", n)
	}
}
