package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"
)

// DefaultTimeout is the time [Client] allows each URL when Client.Timeout is
// zero.
const DefaultTimeout = 10 * time.Second

// maxResponseSize bounds the TimeStampResp a Client reads: a token with a
// few RSA certificates is a few kilobytes.
const maxResponseSize = 1 << 20

// nonceBytes is the size of request nonces: 64 random bits.
const nonceBytes = 8

// Client asks time-stamp authorities for tokens over HTTP (RFC 3161 §3.4).
// It fails closed: [Client.Timestamp] returns a token only when it passed
// every check. A Client is safe for concurrent use when its fields are not
// modified and HTTPClient, Rand and Now are.
type Client struct {
	// URLs are the TSA endpoints, tried in order.
	URLs []string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each URL's exchange; zero means [DefaultTimeout].
	Timeout time.Duration
	// Roots, when set, are the trusted roots for TSA certificates; the
	// chain is then validated at Now.
	Roots *x509.CertPool
	// Policy, when set, is requested and required in the token.
	Policy asn1.ObjectIdentifier
	// Rand is the source of nonces; nil means crypto/rand.Reader.
	Rand io.Reader
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// OnAuthorityResult, if set, is told the outcome of each exchange
	// with a URL (err nil: a token that passed every check), unless the
	// caller's context ended first; it MUST return promptly.
	OnAuthorityResult func(url string, err error)

	// chains remembers the TSA certificate chains already validated to
	// Roots, so that each token costs one signature check rather than a
	// chain build.
	chains chainCache
}

// Timestamp asks each URL in order for a token over digest, computed with h.
// Each request carries a fresh 64-bit random nonce and sets certReq. An
// answer counts only if the HTTP exchange succeeds within the timeout with
// Content-Type application/timestamp-reply, the PKIStatus is granted, the
// token echoes the nonce and the message imprint, carries the requested
// policy (if Policy is set), and passes [Token.Verify] (with Roots, if set).
//
// The first token that passes is returned. If none does, the error wraps
// [ErrNoToken] and each URL's failure (for example a [*StatusError],
// [ErrNonce] or [ErrImprint]). Timestamp never returns a token it did not
// verify and never substitutes a local time.
func (c *Client) Timestamp(ctx context.Context, h crypto.Hash, digest []byte) (*Token, error) {
	tok, _, err := c.TimestampFrom(ctx, h, digest)
	return tok, err
}

// TimestampFrom is [Client.Timestamp] that also returns the URL whose
// token it returns.
func (c *Client) TimestampFrom(ctx context.Context, h crypto.Hash, digest []byte) (*Token, string, error) {
	if !acceptedHash(h) {
		return nil, "", fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	if len(c.URLs) == 0 {
		return nil, "", fmt.Errorf("%w: no TSA URLs configured", ErrNoToken)
	}
	var failures []error
	for _, u := range c.URLs {
		if err := ctx.Err(); err != nil {
			failures = append(failures, fmt.Errorf("tsa: %s: not tried: %w", u, err))
			continue
		}
		tok, err := c.ask(ctx, u, h, digest)
		if c.OnAuthorityResult != nil && ctx.Err() == nil {
			c.OnAuthorityResult(u, err)
		}
		if err == nil {
			return tok, u, nil
		}
		failures = append(failures, fmt.Errorf("tsa: %s: %w", u, err))
	}
	return nil, "", fmt.Errorf("%w: %w", ErrNoToken, errors.Join(failures...))
}

// ask performs one exchange with url and checks the answer.
func (c *Client) ask(ctx context.Context, url string, h crypto.Hash, digest []byte) (*Token, error) {
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	req := &Request{Hash: h, Digest: digest, Policy: c.Policy, Nonce: nonce, CertReq: true}
	der, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	body, err := c.post(ctx, url, der)
	if err != nil {
		return nil, err
	}
	tok, err := ParseResponse(body)
	if err != nil {
		return nil, err
	}
	if tok.Info.Nonce == nil || tok.Info.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: sent %v, got %v", ErrNonce, nonce, tok.Info.Nonce)
	}
	if err := tok.CheckImprint(h, digest); err != nil {
		return nil, err
	}
	if len(c.Policy) > 0 && !tok.Info.Policy.Equal(c.Policy) {
		return nil, fmt.Errorf("%w: requested %v, got %v", ErrPolicy, c.Policy, tok.Info.Policy)
	}
	if err := c.verify(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// verify is [Token.Verify] with Roots at Now, except that a chain already
// validated for the same signer and certificates is not built again while
// Now lies within the validity of every certificate in it.
func (c *Client) verify(tok *Token) error {
	cert, err := tok.verifySigner()
	if err != nil || c.Roots == nil {
		return err
	}
	now := c.now()
	key := chainKey(cert, tok.SignedData.Certificates)
	if c.chains.valid(key, now) {
		return nil
	}
	chains, err := tok.verifyChain(cert, VerifyOptions{Roots: c.Roots, CurrentTime: now})
	if err != nil {
		return err
	}
	c.chains.add(key, chains[0])
	return nil
}

// post sends der to url and returns the reply body.
func (c *Client) post(ctx context.Context, url string, der []byte) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(der))
	if err != nil {
		return nil, fmt.Errorf("tsa: build HTTP request: %w", err)
	}
	hreq.Header.Set("Content-Type", ContentTypeQuery)
	hreq.Header.Set("Accept", ContentTypeReply)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tsa: HTTP status %s", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != ContentTypeReply {
		return nil, fmt.Errorf("tsa: reply content type %q is not %s", resp.Header.Get("Content-Type"), ContentTypeReply)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("tsa: read reply: %w", err)
	}
	if len(body) > maxResponseSize {
		return nil, fmt.Errorf("tsa: reply exceeds %d bytes", maxResponseSize)
	}
	return body, nil
}

// nonce returns a fresh non-zero 64-bit random nonce (RFC 3161 §2.4.1).
func (c *Client) nonce() (*big.Int, error) {
	rnd := c.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, nonceBytes)
	for range 4 {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("tsa: nonce: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() != 0 {
			return n, nil
		}
	}
	return nil, errors.New("tsa: nonce: random source returned zeros")
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
