package remote_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/remote"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
)

func TestOperationsRoundTrip(t *testing.T) {
	f := startSigner(t, 0)
	c := f.dial(t)
	ctx := context.Background()
	if c.Name() != f.backend.Name() {
		t.Fatalf("client names backend %q, signer serves %q", c.Name(), f.backend.Name())
	}
	digest := sha256.Sum256([]byte("document"))
	tests := []struct {
		alg     keys.Algorithm
		session bool
		msg     []byte
		opts    crypto.SignerOpts
		verify  func(pub crypto.PublicKey, msg, sig []byte) bool
	}{
		{keys.ECDSAP256, false, digest[:], crypto.SHA256, func(p crypto.PublicKey, m, s []byte) bool { return ecdsa.VerifyASN1(p.(*ecdsa.PublicKey), m, s) }},
		{keys.ECDSAP256, true, digest[:], crypto.SHA256, func(p crypto.PublicKey, m, s []byte) bool { return ecdsa.VerifyASN1(p.(*ecdsa.PublicKey), m, s) }},
		{keys.RSA2048, false, digest[:], crypto.SHA256, func(p crypto.PublicKey, m, s []byte) bool {
			return rsa.VerifyPKCS1v15(p.(*rsa.PublicKey), crypto.SHA256, m, s) == nil
		}},
		{keys.RSA2048, false, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, func(p crypto.PublicKey, m, s []byte) bool {
			return rsa.VerifyPSS(p.(*rsa.PublicKey), crypto.SHA256, m, s, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}},
		{keys.Ed25519, false, []byte("the whole message"), crypto.Hash(0), func(p crypto.PublicKey, m, s []byte) bool { return ed25519.Verify(p.(ed25519.PublicKey), m, s) }},
	}
	for _, tt := range tests {
		gen := c.Generate
		if tt.session {
			gen = c.GenerateSession
		}
		h, pub, err := gen(ctx, tt.alg, "test")
		if err != nil {
			t.Fatalf("%s: generate: %v", tt.alg, err)
		}
		s, err := c.Signer(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Fatalf("%s: signer's public key differs from the generated one", tt.alg)
		}
		sig, err := s.Sign(nil, tt.msg, tt.opts)
		if err != nil {
			t.Fatalf("%s: sign: %v", tt.alg, err)
		}
		if !tt.verify(pub, tt.msg, sig) {
			t.Fatalf("%s (session %v): signature does not verify", tt.alg, tt.session)
		}
		if err := c.Destroy(ctx, h); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Fatalf("%s: signer of a destroyed key: %v, want ErrKeyNotFound", tt.alg, err)
		}
	}

	// Wrapping and MACs.
	h, _, err := c.Generate(ctx, keys.AES256, "kek")
	if err != nil {
		t.Fatal(err)
	}
	dk := bytes.Repeat([]byte{7}, 32)
	wrapped, err := c.Wrap(ctx, h, dk, []byte("tenant-a"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := f.backend.Unwrap(ctx, h, wrapped, []byte("tenant-a"))
	if err != nil || !bytes.Equal(local, dk) {
		t.Fatalf("the signer's backend does not open the remote wrap: %v", err)
	}
	got, err := c.Unwrap(ctx, h, wrapped, []byte("tenant-a"))
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := c.Unwrap(ctx, h, wrapped, []byte("tenant-b")); err == nil {
		t.Fatal("unwrap with other associated data succeeded")
	}
	mh, _, err := c.Generate(ctx, keys.HMACSHA256, "webhook")
	if err != nil {
		t.Fatal(err)
	}
	tag, err := c.MAC(ctx, mh, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.backend.MAC(ctx, mh, []byte("payload"))
	if err != nil || !hmac.Equal(tag, want) {
		t.Fatalf("remote MAC differs from the backend's: %v", err)
	}
	if _, _, err := c.Generate(ctx, keys.Algorithm("dsa-1024"), "x"); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Fatalf("unknown algorithm: %v, want ErrUnsupportedAlgorithm", err)
	}
	// Nothing of the data key reached the signer's log.
	if logs := f.logs.String(); strings.Contains(logs, string(dk)) || strings.Contains(logs, "BwcHBwcHBwc") {
		t.Fatalf("signer log holds key material: %s", logs)
	}
}

// recorder keeps audit events in memory.
type recorder struct{ events []auditlog.Event }

func (r *recorder) Record(_ context.Context, e auditlog.Event) error {
	r.events = append(r.events, e)
	return e.Validate()
}

// The api role's key manager over a Client: purposes, versions and the
// audit trail stay in the manager, the material in the signer.
func TestManagerOverClient(t *testing.T) {
	f := startSigner(t, 0)
	c := f.dial(t)
	ctx := context.Background()
	st, err := keysqlite.Open(ctx, t.TempDir()+"/keys.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := &recorder{}
	m, err := keys.New(ctx, keys.Config{Store: st, Backends: []keys.Backend{c}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeTLS})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := m.Signer(ctx, k.ID, keys.PurposeTLS)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("handshake"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatal("signature does not verify")
	}
	kek, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := m.Wrap(ctx, kek.ID, []byte("0123456789abcdef0123456789abcdef"), []byte("object"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, kek.ID); err != nil {
		t.Fatal(err)
	}
	if pt, err := m.Unwrap(ctx, kek.ID, blob, []byte("object")); err != nil || string(pt) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("unwrap after rotation: %v", err)
	}
	if _, _, err := m.Signer(ctx, kek.ID, keys.PurposeTLS); !errors.Is(err, keys.ErrPurpose) {
		t.Fatalf("a wrapping key signed: %v", err)
	}
	if len(rec.events) == 0 {
		t.Fatal("the manager recorded nothing")
	}
	if _, ok := any(c).(keys.Importer); ok {
		t.Fatal("the client takes key material to import")
	}
}

func TestSignerRefuses(t *testing.T) {
	f := startSigner(t, 0)
	other, err := remote.NewTransportCA(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A certificate of the api role, from another deployment's CA.
	foreign, err := remote.NewKeyPair(func(pub crypto.PublicKey) (*x509.Certificate, error) {
		return other.Issue(pub, remote.RoleAPI, nil, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A certificate of this CA, but for the signer role.
	wrongRole, err := remote.NewKeyPair(func(pub crypto.PublicKey) (*x509.Certificate, error) {
		return f.ca.Issue(pub, remote.RoleSigner, nil, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A genuine api certificate, to show the checks are what refuses.
	good, err := remote.NewKeyPair(func(pub crypto.PublicKey) (*x509.Certificate, error) {
		return f.ca.Issue(pub, remote.RoleAPI, nil, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{}`)
	for _, tt := range []struct {
		name string
		cert *tls.Certificate
	}{{"no client certificate", nil}, {"another CA", foreign}, {"signer role as client", wrongRole}} {
		status, _, err := f.rawPost(remote.OpInfo, body, tt.cert)
		if err == nil {
			t.Errorf("%s: answered %d, want a refused handshake", tt.name, status)
		}
	}
	if status, _, err := f.rawPost(remote.OpInfo, body, good); err != nil || status != 200 {
		t.Fatalf("api certificate of the CA: %d, %v", status, err)
	}
	// A self-signed enrolment certificate passes the handshake but
	// opens enrolment only, and only with the proof of the enrolment key.
	enrol := selfSigned(t, "urn:signet:role:enrolment")
	if status, msg, err := f.rawPost(remote.OpInfo, body, enrol); err != nil || status != 403 || !strings.Contains(msg, remote.CodeForbidden) {
		t.Fatalf("enrolment certificate calling info: %d %s %v, want 403", status, msg, err)
	}
	nonce := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	proof := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	req := fmt.Sprintf(`{"nonce":%q,"time":%d,"proof":%q}`, nonce, time.Now().Unix(), proof)
	if status, msg, err := f.rawPost(remote.OpEnrol, []byte(req), enrol); err != nil || status != 403 || !strings.Contains(msg, "proof") {
		t.Fatalf("enrolment with a forged proof: %d %s %v, want 403", status, msg, err)
	}
	// A self-signed certificate naming another role is refused at the
	// handshake.
	if status, _, err := f.rawPost(remote.OpEnrol, []byte(req), selfSigned(t, remote.RoleAPI)); err == nil {
		t.Fatalf("self-signed api certificate: answered %d, want a refused handshake", status)
	}
	// Malformed and oversized requests are refused with a clear error.
	for _, tt := range []struct {
		op, body, want string
		status         int
	}{
		{remote.OpSign, `{"handle":"h","digest":"AAAA","extra":1}`, "extra", 400},
		{remote.OpSign, `{"handle":"h"}`, "nothing to sign", 400},
		{remote.OpWrap, `{"handle":"h","label":"x"}`, "not taken", 400},
		{"export", `{}`, "unknown operation", 404},
		{remote.OpMAC, `{"handle":"h","data":"` + strings.Repeat("A", remote.MaxRequestSize) + `"}`, "over", 413},
	} {
		status, msg, err := f.rawPost(tt.op, []byte(tt.body), good)
		if err != nil || status != tt.status || !strings.Contains(msg, tt.want) {
			t.Errorf("%s %.40s: %d %s %v, want %d mentioning %q", tt.op, tt.body, status, msg, err, tt.status, tt.want)
		}
	}
}

// selfSigned returns a self-signed client certificate naming uri.
func selfSigned(t *testing.T, uri string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(uri)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, URIs: []*url.URL{u}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestEnrolmentNeedsTheServiceKey(t *testing.T) {
	f := startSigner(t, 0)
	wrong := bytes.Repeat([]byte{1}, remote.EnrolmentKeySize)
	_, err := remote.Dial(context.Background(), remote.ClientConfig{URL: f.url, EnrolmentKey: wrong})
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != remote.CodeForbidden {
		t.Fatalf("enrolment with a wrong key: %v, want a forbidden refusal", err)
	}
	// A client that is not the signer's (another enrolment key on the
	// signer side) is not trusted either: the answer's MAC fails.
	g := startSigner(t, 0)
	_, err = remote.Dial(context.Background(), remote.ClientConfig{URL: g.url, EnrolmentKey: f.enrol})
	if err == nil {
		t.Fatal("enrolled with another deployment's signer")
	}
}

func TestRenewal(t *testing.T) {
	f := startSigner(t, time.Hour)
	c := f.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clientBefore, _ := c.Certificates().Get()
	serverBefore, _ := f.certs.Get()
	if c.Certificates().Due() || f.certs.Due() {
		t.Fatal("fresh certificates due for renewal")
	}
	f.clock.Advance(41 * time.Minute) // past two thirds of an hour
	if !c.Certificates().Due() || !f.certs.Due() {
		t.Fatal("certificates past two thirds of their life not due")
	}
	go c.Certificates().Run(ctx, 10*time.Millisecond)
	go f.certs.Run(ctx, 10*time.Millisecond)
	deadline := time.Now().Add(time.Minute)
	for c.Certificates().Due() || f.certs.Due() {
		if time.Now().After(deadline) {
			t.Fatal("no renewal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	clientAfter, _ := c.Certificates().Get()
	serverAfter, _ := f.certs.Get()
	if clientAfter.Leaf.SerialNumber.Cmp(clientBefore.Leaf.SerialNumber) == 0 || serverAfter.Leaf.SerialNumber.Cmp(serverBefore.Leaf.SerialNumber) == 0 {
		t.Fatal("renewal kept the old certificates")
	}
	// New connections use the renewed certificates.
	c.Close()
	if _, _, err := c.Generate(ctx, keys.ECDSAP256, "after renewal"); err != nil {
		t.Fatalf("call after renewal: %v", err)
	}
}

// A signer that restarts mints a new transport CA: the client's next call
// fails its handshake, enrols again and succeeds, on the same keys.
func TestClientReenrolsAfterSignerRestart(t *testing.T) {
	f := startSigner(t, 0)
	c := f.dial(t)
	ctx := context.Background()
	h, pub, err := c.Generate(ctx, keys.ECDSAP256, "before restart")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.Certificates().Get()
	f.restart(t)
	// The old signer closed the client's kept-alive connections; the
	// client's transport notices that on its own, but not necessarily
	// before the very next call, which would then fail writing on a dead
	// connection rather than at the new signer's handshake tested here.
	c.Close()
	s, err := c.Signer(ctx, h)
	if err != nil {
		t.Fatalf("call after the signer's restart: %v", err)
	}
	if !s.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Fatal("another key after the restart")
	}
	after, _ := c.Certificates().Get()
	if len(after.Leaf.AuthorityKeyId) == 0 || bytes.Equal(after.Leaf.AuthorityKeyId, before.Leaf.AuthorityKeyId) {
		t.Fatal("the client kept the old CA's certificate")
	}
}
