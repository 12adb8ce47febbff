// Package crl publishes certificate revocation lists (RFC 5280 §5), one
// per CA, from the CA's record store.
//
// A [Publisher] signs a new CRL, with the next CRL number, whenever the set
// of revoked certificates changes ([Publisher.Regenerate] is called from the
// CA's revocation hook, and a request that finds the set changed regenerates
// too) or the current CRL has used up half of its validity. Between those,
// it serves the same signed bytes.
package crl

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

// ContentType is the media type of a DER CRL (RFC 2585 §4.2).
const ContentType = "application/pkix-crl"

// DefaultValidity is the time from thisUpdate to nextUpdate when
// [Publisher.Validity] is zero.
const DefaultValidity = 24 * time.Hour

// ErrUnknownCA means no CA of that name is registered with the publisher.
var ErrUnknownCA = errors.New("crl: unknown CA")

var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

// A Source lists revoked certificates and numbers CRLs; [ca.Store] is one.
type Source interface {
	// Revoked returns issuer's revoked records.
	Revoked(ctx context.Context, issuer string) ([]ca.Record, error)
	// NextCRLNumber returns a number greater than any returned before for
	// issuer (RFC 5280 §5.2.3).
	NextCRLNumber(ctx context.Context, issuer string) (*big.Int, error)
}

// A Publisher makes and serves CRLs. It is safe for concurrent use.
type Publisher struct {
	// Source holds the revocations. Required.
	Source Source
	// Validity is nextUpdate minus thisUpdate; zero means
	// [DefaultValidity].
	Validity time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the signing randomness; nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives failures while serving; nil means slog.Default().
	Logger *slog.Logger

	mu  sync.Mutex
	cas map[string]*state
}

type state struct {
	issuer *x509.Certificate
	signer crypto.Signer
	der    []byte
	digest [32]byte // of the revoked set the CRL holds
	this   time.Time
	next   time.Time
}

var _ http.Handler = (*Publisher)(nil)

// SetIssuer registers (or replaces, after a renewal) CA name with its
// certificate and key. The next request regenerates its CRL.
func (p *Publisher) SetIssuer(name string, cert *x509.Certificate, signer crypto.Signer) error {
	if !ca.ValidName(name) || cert == nil || signer == nil {
		return errors.New("crl: incomplete issuer")
	}
	if cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return fmt.Errorf("crl: %s: certificate lacks keyUsage cRLSign", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cas == nil {
		p.cas = map[string]*state{}
	}
	p.cas[name] = &state{issuer: cert, signer: signer}
	return nil
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// CRL returns CA name's current DER CRL, regenerating it first if the
// revoked set changed or half its validity has passed.
func (p *Publisher) CRL(ctx context.Context, name string) ([]byte, error) {
	return p.get(ctx, name, false)
}

// Regenerate signs and returns a new CRL for CA name with a new CRL
// number. The CA's revocation hook calls it so that the CRL reflects a
// revocation at once.
func (p *Publisher) Regenerate(ctx context.Context, name string) ([]byte, error) {
	return p.get(ctx, name, true)
}

func (p *Publisher) get(ctx context.Context, name string, force bool) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.cas[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCA, name)
	}
	revoked, err := p.Source.Revoked(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("crl: revoked certificates of %s: %w", name, err)
	}
	digest := digestOf(revoked)
	now := p.now()
	if !force && st.der != nil && digest == st.digest && now.Before(st.this.Add(st.next.Sub(st.this)/2)) {
		return st.der, nil
	}
	der, this, next, err := p.sign(ctx, name, st, revoked, now)
	if err != nil {
		return nil, err
	}
	st.der, st.digest, st.this, st.next = der, digest, this, next
	return der, nil
}

func digestOf(rs []ca.Record) [32]byte {
	h := sha256.New()
	for _, r := range rs {
		fmt.Fprintf(h, "%x/%d/%d/%d;", r.Serial, r.Reason, r.RevokedAt.Unix(), r.InvalidityDate.Unix())
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func (p *Publisher) sign(ctx context.Context, name string, st *state, revoked []ca.Record, now time.Time) ([]byte, time.Time, time.Time, error) {
	validity := p.Validity
	if validity <= 0 {
		validity = DefaultValidity
	}
	num, err := p.Source.NextCRLNumber(ctx, name)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("crl: number for %s: %w", name, err)
	}
	this := now.UTC().Truncate(time.Second)
	next := this.Add(validity)
	tmpl := &x509.RevocationList{
		Number:     num,
		ThisUpdate: this,
		NextUpdate: next,
	}
	for _, r := range revoked {
		e := x509.RevocationListEntry{
			SerialNumber:   r.Serial,
			RevocationTime: r.RevokedAt.UTC(),
			ReasonCode:     int(r.Reason),
		}
		if !r.InvalidityDate.IsZero() {
			v, err := asn1.MarshalWithParams(r.InvalidityDate.UTC(), "generalized")
			if err != nil {
				return nil, time.Time{}, time.Time{}, fmt.Errorf("crl: invalidity date: %w", err)
			}
			e.ExtraExtensions = []pkix.Extension{{Id: oidInvalidityDate, Value: v}}
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, e)
	}
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	der, err := x509.CreateRevocationList(rnd, tmpl, st.issuer, st.signer)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("crl: sign CRL for %s: %w", name, err)
	}
	return der, this, next, nil
}

// ServeHTTP serves GET /<name>.crl (mount it with [http.StripPrefix]) as
// DER with Content-Type application/pkix-crl (RFC 5280 §4.2.1.13 and
// RFC 2585 §4.2).
func (p *Publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "crl: only GET is supported", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".crl")
	if !ok || !ca.ValidName(name) {
		http.NotFound(w, r)
		return
	}
	der, err := p.CRL(r.Context(), name)
	if errors.Is(err, ErrUnknownCA) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		log := p.Logger
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "crl: serving failed", "ca", name, "err", err)
		http.Error(w, "crl: internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(der))
}
