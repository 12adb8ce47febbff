// Package ocsp is Signet's OCSP responder (RFC 6960).
//
// A [Responder] answers for the issuing CAs registered with
// [Responder.SetSigner], each through a delegated responder certificate
// (id-kp-OCSPSigning, RFC 6960 §4.2.2.2) or the CA's own key. Statuses come
// from the CA's record store, read on every request, so a revocation is
// visible in the next response.
//
// # Pre-produced responses
//
// A signed response for one certificate is kept and served again, for
// [Responder.ReuseFor], to every request for that certificate while its
// record states the same status (RFC 6960 §2.4 allows pre-produced
// responses): a flood of requests for one certificate signs once, and a
// revocation is answered at once with a new response. Such responses
// carry no nonce: the responder ignores the nonce extension of requests,
// which RFC 9654 (formerly RFC 8954) leaves optional for responders and
// RFC 5019 expects of responders that pre-produce responses; freshness
// comes from thisUpdate, within ReuseFor of the answer. A negative
// ReuseFor signs every response and echoes the nonce.
package ocsp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

// Media types of RFC 6960 Appendix A.
const (
	ContentTypeRequest  = "application/ocsp-request"
	ContentTypeResponse = "application/ocsp-response"
)

// MaxRequestSize bounds request bodies and decoded GET paths: room for
// [MaxCertIDs] CertIDs and an optional signature with a few certificates
// (RFC 6960 §4.1.1), and no more, since requests are anonymous.
const MaxRequestSize = 8 << 10

// DefaultValidity is the time from thisUpdate to nextUpdate when
// [Responder.Validity] is zero.
const DefaultValidity = time.Hour

// A Lookup finds certificate records by serial; [ca.Store] is one. Get
// MUST return [ca.ErrNotFound] (possibly wrapped) for unknown serials.
type Lookup interface {
	Get(ctx context.Context, serial *big.Int) (ca.Record, error)
}

// A Signer is the responder for one CA.
type Signer struct {
	// CAName is the CA's name in the record store.
	CAName string
	// CA is the CA certificate that CertIDs name.
	CA *x509.Certificate
	// Certificate certifies Key: a delegated responder certificate issued
	// by CA, or CA itself.
	Certificate *x509.Certificate
	Key         crypto.Signer
}

type entry struct {
	caName string
	rs     *responseSigner
}

// A Responder answers OCSP requests from a [Lookup]. It is safe for
// concurrent use; signers may be replaced while it serves.
type Responder struct {
	// Store holds the certificate records. Required.
	Store Lookup
	// Validity is nextUpdate minus thisUpdate; zero means
	// [DefaultValidity].
	Validity time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the signing randomness; nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// ReuseFor is how long a response for one certificate is served
	// again while the certificate's status is unchanged (see the package
	// doc); zero means a quarter of the validity, negative never.
	ReuseFor time.Duration
	// MaxCached bounds the responses kept; zero means
	// [DefaultMaxCached].
	MaxCached int

	mu    sync.RWMutex
	index map[string]*entry // by hash|nameHash|keyHash

	cache responseCache
}

var _ http.Handler = (*Responder)(nil)

// SetSigner makes r answer for s.CA, replacing an earlier signer for the
// same CA. A delegated responder certificate must be issued by s.CA and
// carry id-kp-OCSPSigning.
func (r *Responder) SetSigner(s Signer) error {
	if s.CA == nil || s.Certificate == nil || s.Key == nil || s.CAName == "" {
		return errors.New("ocsp: incomplete signer")
	}
	if k, ok := s.Certificate.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(s.Key.Public()) {
		return errors.New("ocsp: responder certificate is not for the key")
	}
	if !s.Certificate.Equal(s.CA) {
		if err := s.Certificate.CheckSignatureFrom(s.CA); err != nil {
			return fmt.Errorf("ocsp: responder certificate not issued by the CA: %w", err)
		}
		ok := false
		for _, u := range s.Certificate.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageOCSPSigning
		}
		if !ok {
			return errors.New("ocsp: responder certificate lacks id-kp-OCSPSigning")
		}
	}
	rs, err := newResponseSigner(s.Key, s.Certificate)
	if err != nil {
		return err
	}
	e := &entry{caName: s.CAName, rs: rs}
	keys := make([]string, 0, len(hashes))
	for _, h := range hashes {
		n, k, err := issuerHashes(s.CA, h.h)
		if err != nil {
			return err
		}
		keys = append(keys, indexKey(h.h, n, k))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.index == nil {
		r.index = map[string]*entry{}
	}
	for _, k := range keys {
		r.index[k] = e
	}
	return nil
}

func indexKey(h crypto.Hash, name, key []byte) string {
	return strconv.Itoa(int(h)) + "|" + hex.EncodeToString(name) + "|" + hex.EncodeToString(key)
}

// Respond answers the DER OCSPRequest req with a DER OCSPResponse. It
// always returns a response: malformedRequest for unparsable requests,
// unauthorized when a CertID names a CA the responder does not serve (or
// the request mixes CAs), internalError when the store fails (the error is
// returned too), and otherwise a signed response with one SingleResponse
// per CertID: good, revoked (time, reason, invalidity date) or unknown
// (a serial the CA never issued). The answer for a single CertID may be
// one produced earlier for the same status (see the package doc).
func (r *Responder) Respond(ctx context.Context, req []byte) ([]byte, error) {
	return r.respond(ctx, req, false)
}

// RespondFresh is [Responder.Respond] without reusing a response
// produced earlier: the answer is signed now (and kept for the requests
// that follow), for a caller that needs status information produced
// after some event, such as the validation data of a signature just made.
func (r *Responder) RespondFresh(ctx context.Context, req []byte) ([]byte, error) {
	return r.respond(ctx, req, true)
}

func (r *Responder) respond(ctx context.Context, req []byte, fresh bool) ([]byte, error) {
	q, err := ParseRequest(req)
	if err != nil {
		return errorResponse(MalformedRequest), nil
	}
	r.mu.RLock()
	var e *entry
	for _, id := range q.CertIDs {
		ei := r.index[indexKey(id.Hash, id.IssuerNameHash, id.IssuerKeyHash)]
		if ei == nil || (e != nil && ei != e) || id.Hash == 0 {
			e = nil
			break
		}
		e = ei
	}
	r.mu.RUnlock()
	if e == nil {
		return errorResponse(Unauthorized), nil
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	validity := r.Validity
	if validity <= 0 {
		validity = DefaultValidity
	}
	t := now()
	rs := make([]SingleResponse, 0, len(q.CertIDs))
	for _, id := range q.CertIDs {
		sr := SingleResponse{CertID: id, Status: Unknown, ThisUpdate: t, NextUpdate: t.Add(validity)}
		rec, err := r.Store.Get(ctx, id.SerialNumber)
		switch {
		case errors.Is(err, ca.ErrNotFound):
		case err != nil:
			return errorResponse(InternalError), fmt.Errorf("ocsp: look up %x: %w", id.SerialNumber, err)
		case rec.Issuer != e.caName:
		case rec.Status == ca.StatusRevoked:
			sr.Status, sr.RevokedAt, sr.Reason, sr.InvalidityDate = Revoked, rec.RevokedAt, int(rec.Reason), rec.InvalidityDate
		default:
			sr.Status = Good
		}
		rs = append(rs, sr)
	}
	rnd := r.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	reuse := r.ReuseFor
	if reuse == 0 {
		reuse = validity / 4
	}
	var der []byte
	switch {
	case reuse < 0:
		der, err = e.rs.sign(rnd, t, rs, q.Nonce)
	case len(rs) == 1:
		maxCached := r.MaxCached
		if maxCached <= 0 {
			maxCached = DefaultMaxCached
		}
		der, err = r.cache.get(cacheKey{e, certIDKey(rs[0].CertID)}, certState(rs[0]), t, reuse, maxCached, fresh, func() ([]byte, error) {
			return e.rs.sign(rnd, t, rs, nil)
		})
	default:
		der, err = e.rs.sign(rnd, t, rs, nil)
	}
	if err != nil {
		return errorResponse(InternalError), err
	}
	return der, nil
}

// ServeHTTP implements the HTTP transport of RFC 6960 Appendix A: POST
// with Content-Type application/ocsp-request, or GET with the base64 DER
// request as the last part of the path (mount r with [http.StripPrefix] so
// that the path it sees is "/" followed by the request). Mount it without
// a path-cleaning [http.ServeMux] in front for GET: base64 may contain "//".
//
// A request with "Cache-Control: no-cache" is answered as by
// [Responder.RespondFresh]. A server that faces untrusted clients MUST
// remove that header from their requests (pki does), or each of them
// could make the responder sign.
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body []byte
	switch req.Method {
	case http.MethodGet:
		p := strings.TrimPrefix(req.URL.Path, "/")
		if len(p) > MaxRequestSize*4/3+4 {
			http.Error(w, "ocsp: request too large", http.StatusRequestURITooLong)
			return
		}
		var err error
		if body, err = base64.StdEncoding.DecodeString(p); err != nil {
			// An undecodable request is still an OCSP request: answer it.
			body = nil
		}
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != ContentTypeRequest {
			http.Error(w, "ocsp: content type must be "+ContentTypeRequest, http.StatusUnsupportedMediaType)
			return
		}
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, req.Body, MaxRequestSize))
		if err != nil {
			http.Error(w, "ocsp: request too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "ocsp: only GET and POST are supported", http.StatusMethodNotAllowed)
		return
	}
	// RFC 9111 §5.2.1.4: a request with no-cache asks for a response
	// not served from storage.
	fresh := slices.Contains(strings.Split(strings.ReplaceAll(req.Header.Get("Cache-Control"), " ", ""), ","), "no-cache")
	resp, err := r.respond(req.Context(), body, fresh)
	if err != nil {
		log := r.Logger
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(req.Context(), "ocsp: responder failed", "err", err)
	}
	w.Header().Set("Content-Type", ContentTypeResponse)
	// Statuses are read per request from the live store: tell HTTP caches
	// not to keep responses, so a revocation is visible at once (RFC 5019
	// §6 would allow caching until nextUpdate).
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Write(resp)
}
