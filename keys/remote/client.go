package remote

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/keys"
)

// ClientConfig configures [Dial].
type ClientConfig struct {
	// URL is the signer's base URL, https://HOST:PORT.
	URL string
	// EnrolmentKey proves the api role to the signer at enrolment
	// ([EnrolmentKeySize] bytes, from the service key).
	EnrolmentKey []byte
	// Timeout bounds each call (0: 30 s).
	Timeout time.Duration
	// Now is the clock of enrolments and renewals (nil: time.Now).
	Now func() time.Time
	// Logger receives renewal failures (nil: slog.Default()).
	Logger *slog.Logger
}

// A Client is the [keys.Backend] of the api role: every operation is a
// call to the signer. It has every optional capability
// ([keys.Wrapper], [keys.MACer], [keys.SessionGenerator]); the signer
// answers [keys.ErrUnsupportedAlgorithm] when its backend lacks one. It
// is not a [keys.Importer]: no key material is ever sent to the signer.
type Client struct {
	cfg     ClientConfig
	base    string
	name    string
	caps    []string
	others  []string
	roots   atomic.Pointer[x509.CertPool]
	certs   *CertHolder
	http    *http.Client
	timeout time.Duration
}

var (
	_ keys.Backend          = (*Client)(nil)
	_ keys.Wrapper          = (*Client)(nil)
	_ keys.MACer            = (*Client)(nil)
	_ keys.SessionGenerator = (*Client)(nil)
)

// errUntrustedSigner is a server certificate that is not the signer's.
var errUntrustedSigner = errors.New("remote: the server is not the signer of the transport CA")

// Dial enrols with the signer at cfg.URL (obtaining a client certificate
// and the transport CA) and asks it which backend it serves.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("remote: signer URL %q is not https://HOST:PORT", cfg.URL)
	}
	if len(cfg.EnrolmentKey) != EnrolmentKeySize {
		return nil, fmt.Errorf("remote: enrolment key of %d bytes, want %d", len(cfg.EnrolmentKey), EnrolmentKeySize)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, base: "https://" + u.Host, timeout: cfg.Timeout}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	c.http = &http.Client{Transport: c.transport(c.verifySigner, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return c.certs.Get()
	}), CheckRedirect: noRedirect}
	if c.certs, err = NewCertHolder(ctx, c.enrol, cfg.Now, cfg.Logger); err != nil {
		return nil, err
	}
	var info Response
	if err := c.call(ctx, OpInfo, &Request{}, &info); err != nil {
		return nil, err
	}
	if info.Backend == "" {
		return nil, errors.New("remote: the signer named no backend")
	}
	c.name, c.caps, c.others = info.Backend, info.Capabilities, info.Backends
	return c, nil
}

func noRedirect(*http.Request, []*http.Request) error {
	return errors.New("remote: the signer redirected")
}

// transport is an HTTP transport to the signer with the given checks.
func (c *Client) transport(verify func(tls.ConnectionState) error, cert func(*tls.CertificateRequestInfo) (*tls.Certificate, error)) *http.Transport {
	return &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS13,
			// The chain and the role are checked by verify, against the
			// transport CA learnt at enrolment, not the system roots.
			InsecureSkipVerify:   true,
			VerifyConnection:     verify,
			GetClientCertificate: cert,
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// verifySigner checks the signer's server certificate.
func (c *Client) verifySigner(cs tls.ConnectionState) error {
	roots := c.roots.Load()
	if roots == nil {
		return errUntrustedSigner
	}
	if err := verifyRole(cs.PeerCertificates, roots, x509.ExtKeyUsageServerAuth, RoleSigner, c.cfg.Now()); err != nil {
		return fmt.Errorf("%w: %v", errUntrustedSigner, err)
	}
	return nil
}

// Certificates returns the holder of the client certificate, whose Run
// renews it.
func (c *Client) Certificates() *CertHolder { return c.certs }

// Capabilities lists the optional operations of the signer's backend.
func (c *Client) Capabilities() []string { return append([]string(nil), c.caps...) }

// enrol obtains a new client certificate for a fresh key.
func (c *Client) enrol(ctx context.Context) (*tls.Certificate, error) {
	now := c.cfg.Now()
	ec, err := enrolmentCert(now)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	// The server is checked after the answer, against the CA the answer
	// names, once its MAC proves it came from the signer.
	var peer []*x509.Certificate
	tr := c.transport(func(cs tls.ConnectionState) error { peer = cs.PeerCertificates; return nil },
		func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return ec, nil })
	tr.DisableKeepAlives = true
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: noRedirect}
	req := &Request{Nonce: nonce, Time: now.Unix(), Proof: enrolProof(c.cfg.EnrolmentKey, ec.Leaf.RawSubjectPublicKeyInfo, nonce, now.Unix())}
	var resp Response
	if err := c.post(ctx, hc, OpEnrol, req, &resp); err != nil {
		return nil, fmt.Errorf("remote: enrolment with the signer: %w", err)
	}
	if !hmac.Equal(resp.CAMAC, enrolAnswerMAC(c.cfg.EnrolmentKey, nonce, resp.CA, resp.Certificate)) {
		return nil, errors.New("remote: enrolment answer not authenticated by the service key: not the deployment's signer")
	}
	ca, err := x509.ParseCertificate(resp.CA)
	if err != nil {
		return nil, fmt.Errorf("remote: enrolment: transport CA: %w", err)
	}
	leaf, err := x509.ParseCertificate(resp.Certificate)
	if err != nil {
		return nil, fmt.Errorf("remote: enrolment: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if err := verifyRole(peer, pool, x509.ExtKeyUsageServerAuth, RoleSigner, now); err != nil {
		return nil, fmt.Errorf("%w: %v", errUntrustedSigner, err)
	}
	if err := verifyRole([]*x509.Certificate{leaf}, pool, x509.ExtKeyUsageClientAuth, RoleAPI, now); err != nil {
		return nil, fmt.Errorf("remote: enrolment: %w", err)
	}
	if !bytes.Equal(leaf.RawSubjectPublicKeyInfo, ec.Leaf.RawSubjectPublicKeyInfo) {
		return nil, errors.New("remote: enrolment: certificate for another key")
	}
	c.roots.Store(pool)
	return &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: ec.PrivateKey, Leaf: leaf}, nil
}

// call performs op. When the handshake fails because the signer no
// longer knows the client certificate or presents another CA's (it
// restarted with a new transport CA), it enrols again and retries once:
// such a request never reached the handler.
func (c *Client) call(ctx context.Context, op string, req *Request, resp *Response) error {
	err := c.post(ctx, c.http, op, req, resp)
	var alert tls.AlertError
	if err != nil && (errors.Is(err, errUntrustedSigner) || errors.As(err, &alert)) && ctx.Err() == nil {
		c.http.CloseIdleConnections()
		if rerr := c.certs.Renew(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		err = c.post(ctx, c.http, op, req, resp)
	}
	return err
}

// post sends one request.
func (c *Client) post(ctx context.Context, hc *http.Client, op string, req *Request, resp *Response) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	defer clear(body)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/"+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	r, err := hc.Do(hr)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", keys.ErrBackendUnavailable, op, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("%w: %s: reading the answer: %w", keys.ErrBackendUnavailable, op, err)
	}
	defer clear(b)
	if len(b) > maxResponseSize {
		return fmt.Errorf("remote: %s: answer over %d bytes", op, maxResponseSize)
	}
	if r.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(b, &e) != nil || e.Code == "" {
			return fmt.Errorf("remote: %s: signer answered %s", op, r.Status)
		}
		return &e
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("remote: %s: malformed answer", op)
	}
	return nil
}

// Name implements [keys.Backend]: the name of the signer's backend, so
// that keys made before a deployment was split stay usable.
func (c *Client) Name() string { return c.name }

// Generate implements [keys.Backend].
func (c *Client) Generate(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	return c.generate(ctx, "", OpGenerate, alg, label)
}

// GenerateSession implements [keys.SessionGenerator].
func (c *Client) GenerateSession(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	return c.generate(ctx, "", OpGenerateSession, alg, label)
}

func (c *Client) generate(ctx context.Context, backend, op string, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	var resp Response
	if err := c.call(ctx, op, &Request{Backend: backend, Algorithm: alg, Label: label}, &resp); err != nil {
		return "", nil, err
	}
	if resp.Handle == "" {
		return "", nil, fmt.Errorf("remote: %s: no handle in the answer", op)
	}
	if len(resp.Public) == 0 {
		return resp.Handle, nil, nil
	}
	pub, err := x509.ParsePKIXPublicKey(resp.Public)
	if err != nil {
		return "", nil, fmt.Errorf("remote: %s: public key: %w", op, err)
	}
	return resp.Handle, pub, nil
}

// Signer implements [keys.Backend]: it asks the signer for the key's
// public key; the signer signs each digest.
func (c *Client) Signer(ctx context.Context, handle string) (crypto.Signer, error) {
	return c.signer(ctx, "", handle)
}

func (c *Client) signer(ctx context.Context, backend, handle string) (crypto.Signer, error) {
	var resp Response
	if err := c.call(ctx, OpPublic, &Request{Backend: backend, Handle: handle}, &resp); err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(resp.Public)
	if err != nil {
		return nil, fmt.Errorf("remote: public key of %s: %w", handle, err)
	}
	return &remoteSigner{c: c, backend: backend, handle: handle, pub: pub}, nil
}

// Destroy implements [keys.Backend].
func (c *Client) Destroy(ctx context.Context, handle string) error {
	return c.call(ctx, OpDestroy, &Request{Handle: handle}, &Response{})
}

// Wrap implements [keys.Wrapper].
func (c *Client) Wrap(ctx context.Context, handle string, plaintext, aad []byte) ([]byte, error) {
	return c.data(ctx, OpWrap, &Request{Handle: handle, Data: plaintext, AAD: aad})
}

// Unwrap implements [keys.Wrapper].
func (c *Client) Unwrap(ctx context.Context, handle string, ciphertext, aad []byte) ([]byte, error) {
	return c.data(ctx, OpUnwrap, &Request{Handle: handle, Data: ciphertext, AAD: aad})
}

// MAC implements [keys.MACer].
func (c *Client) MAC(ctx context.Context, handle string, data []byte) ([]byte, error) {
	return c.data(ctx, OpMAC, &Request{Handle: handle, Data: data})
}

// Backends returns the signer's further backends (such as a PKCS#11
// token beside the software store), as it named them when c dialled:
// each a [keys.Backend] whose operations go through c to that backend,
// so that the api role's key manager registers it under its name.
func (c *Client) Backends() []keys.Backend {
	out := make([]keys.Backend, 0, len(c.others))
	for _, n := range c.others {
		out = append(out, &Backend{c: c, name: n})
	}
	return out
}

// A Backend is one of the signer's further backends, reached through a
// [Client] ([Client.Backends]). Like the Client it has every optional
// capability; the signer answers [keys.ErrUnsupportedAlgorithm] when
// the backend lacks one.
type Backend struct {
	c    *Client
	name string
}

var (
	_ keys.Backend          = (*Backend)(nil)
	_ keys.Wrapper          = (*Backend)(nil)
	_ keys.MACer            = (*Backend)(nil)
	_ keys.SessionGenerator = (*Backend)(nil)
)

// Name implements [keys.Backend]: the backend's name at the signer.
func (b *Backend) Name() string { return b.name }

// Generate implements [keys.Backend].
func (b *Backend) Generate(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	return b.c.generate(ctx, b.name, OpGenerate, alg, label)
}

// GenerateSession implements [keys.SessionGenerator].
func (b *Backend) GenerateSession(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	return b.c.generate(ctx, b.name, OpGenerateSession, alg, label)
}

// Signer implements [keys.Backend].
func (b *Backend) Signer(ctx context.Context, handle string) (crypto.Signer, error) {
	return b.c.signer(ctx, b.name, handle)
}

// Destroy implements [keys.Backend].
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	return b.c.call(ctx, OpDestroy, &Request{Backend: b.name, Handle: handle}, &Response{})
}

// Wrap implements [keys.Wrapper].
func (b *Backend) Wrap(ctx context.Context, handle string, plaintext, aad []byte) ([]byte, error) {
	return b.c.data(ctx, OpWrap, &Request{Backend: b.name, Handle: handle, Data: plaintext, AAD: aad})
}

// Unwrap implements [keys.Wrapper].
func (b *Backend) Unwrap(ctx context.Context, handle string, ciphertext, aad []byte) ([]byte, error) {
	return b.c.data(ctx, OpUnwrap, &Request{Backend: b.name, Handle: handle, Data: ciphertext, AAD: aad})
}

// MAC implements [keys.MACer].
func (b *Backend) MAC(ctx context.Context, handle string, data []byte) ([]byte, error) {
	return b.c.data(ctx, OpMAC, &Request{Backend: b.name, Handle: handle, Data: data})
}

// String names the backend without anything secret.
func (b *Backend) String() string { return "remote.Backend(" + b.c.base + ", " + b.name + ")" }

func (c *Client) data(ctx context.Context, op string, req *Request) ([]byte, error) {
	if len(req.Data) > MaxData || len(req.AAD) > MaxData {
		return nil, fmt.Errorf("remote: %s: data over %d bytes", op, MaxData)
	}
	var resp Response
	if err := c.call(ctx, op, req, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// Close closes idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// String names the client without anything secret.
func (c *Client) String() string { return "remote.Client(" + c.base + ")" }

// remoteSigner signs through the signer.
type remoteSigner struct {
	c       *Client
	backend string
	handle  string
	pub     crypto.PublicKey
}

func (s *remoteSigner) Public() crypto.PublicKey { return s.pub }

// Sign implements crypto.Signer (the randomness is the signer's).
func (s *remoteSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if len(digest) > MaxData {
		return nil, fmt.Errorf("remote: sign: %d bytes to sign, over %d", len(digest), MaxData)
	}
	req := &Request{Backend: s.backend, Handle: s.handle, Digest: digest}
	if opts != nil {
		req.Hash = opts.HashFunc()
	}
	switch o := opts.(type) {
	case *rsa.PSSOptions:
		req.PSS, req.PSSSaltLength = true, o.SaltLength
	case *ed25519.Options:
		if o.Hash != 0 || o.Context != "" {
			return nil, fmt.Errorf("%w: Ed25519ph and Ed25519ctx", keys.ErrUnsupportedAlgorithm)
		}
	}
	ctx := context.Background()
	var resp Response
	if err := s.c.call(ctx, OpSign, req, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

func (s *remoteSigner) String() string { return "remote.Signer(" + s.handle + ")" }
