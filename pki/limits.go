package pki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/tokenbucket"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// A Rate is a token bucket: Burst requests at once, refilled at
// PerSecond. The zero Rate is no limit.
type Rate = tokenbucket.Rate

// validateRate checks the rate of the endpoint class name.
func validateRate(name string, r Rate) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("pki: %s %w", name, err)
	}
	return nil
}

// Limits bound what clients of the PKI listener may ask. Its endpoints
// answer anyone, without authentication: each time-stamp and each OCSP
// response not served from the responder's cache is a signature by a
// key, so the budgets of /tsa and /ocsp are per client and small, and the
// signatures made at once are bounded for all clients together. A client
// is an IPv4 address or an IPv6 /64 (what one host is usually given), as
// the listener sees it: behind a reverse proxy every client is the
// proxy, and the limits belong at the proxy.
type Limits struct {
	// TSA is each client's budget of RFC 3161 requests (/tsa).
	TSA Rate `json:"tsa"`
	// OCSP is each client's budget of OCSP requests (/ocsp).
	OCSP Rate `json:"ocsp"`
	// Static is each client's budget of the other requests: CA
	// certificates and CRLs, served from memory.
	Static Rate `json:"static"`
	// MaxInFlight bounds the /tsa and /ocsp requests served at once, for
	// all clients together; more are answered 503.
	MaxInFlight int `json:"max_in_flight"`
	// MaxClients bounds the token buckets kept in memory; the least
	// recently used is dropped first.
	MaxClients int `json:"max_clients"`
}

// DefaultLimits are the limits of the PKI listener unless configured: a
// relying party checking a signature asks a few times, a TSA client
// stamping a batch a few times a second.
var DefaultLimits = Limits{
	TSA:         Rate{PerSecond: 5, Burst: 50},
	OCSP:        Rate{PerSecond: 20, Burst: 100},
	Static:      Rate{PerSecond: 50, Burst: 200},
	MaxInFlight: 16,
	MaxClients:  100000,
}

// UnmarshalJSON decodes l over [DefaultLimits], so that a field left out
// keeps its default (a rate of zeros turns a limit off), and refuses
// unknown fields.
func (l *Limits) UnmarshalJSON(b []byte) error {
	type plain Limits
	p := plain(DefaultLimits)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("pki: limits: %w", err)
	}
	*l = Limits(p)
	return nil
}

// Validate reports whether l is usable.
func (l Limits) Validate() error {
	errs := []error{validateRate("tsa", l.TSA), validateRate("ocsp", l.OCSP), validateRate("static", l.Static)}
	if l.MaxInFlight < 1 || l.MaxInFlight > 1<<16 {
		errs = append(errs, fmt.Errorf("pki: max_in_flight %d is outside 1–65536", l.MaxInFlight))
	}
	if l.MaxClients < 1 || l.MaxClients > 1<<24 {
		errs = append(errs, fmt.Errorf("pki: max_clients %d is outside 1–16777216", l.MaxClients))
	}
	return errors.Join(errs...)
}

// Timeouts and bounds of the PKI listener's HTTP server ([HTTPServer]):
// its requests are small and answered from memory or by one signature.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = time.Minute
	// maxHeaderBytes leaves room for an OCSP GET request, whose base64
	// is the path (RFC 6960 Appendix A.1).
	maxHeaderBytes = 4*ocsp.MaxRequestSize/3 + 4<<10
)

// HTTPServer returns the HTTP server of a PKI listener serving h (a
// [PKI] or a handler around one) behind l ([Protect]), with timeouts on
// reading the header, the whole request and writing the response, and a
// bound on header bytes. The caller sets its ErrorLog and calls Serve.
func HTTPServer(h http.Handler, l Limits) *http.Server {
	return &http.Server{
		Handler:           Protect(h, l),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// Protect returns h behind the limits l, for requests from the network
// (the service's own requests to its PKI call it directly):
//
//   - a request over its client's budget for its endpoint is answered 429
//     with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3) and an RFC 9457
//     problem, at the HTTP level for OCSP too (an OCSP tryLater response
//     would say nothing of when);
//   - a /tsa or /ocsp request beyond l.MaxInFlight at once is answered 503
//     with Retry-After: 1;
//   - a body longer than its endpoint's bound ([tsa.MaxRequestSize],
//     [ocsp.MaxRequestSize], none for the others) is answered 413, before
//     it is read when its length is declared;
//   - a request's Cache-Control is removed: only the service itself asks
//     the OCSP responder for a fresh response.
//
// Refusals are not logged: logging them would turn a flood into log
// growth.
func Protect(h http.Handler, l Limits) http.Handler {
	if l.MaxClients <= 0 {
		l.MaxClients = DefaultLimits.MaxClients
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = DefaultLimits.MaxInFlight
	}
	return &guard{next: h, limits: l, buckets: tokenbucket.New(l.MaxClients), inFlight: make(chan struct{}, l.MaxInFlight)}
}

type guard struct {
	next     http.Handler
	limits   Limits
	buckets  *tokenbucket.Set
	inFlight chan struct{}
}

// endpoint classes of the PKI listener.
const (
	classStatic = "s"
	classTSA    = "t"
	classOCSP   = "o"
)

func classify(path string) (class string, maxBody int64) {
	switch {
	case path == "/tsa" || path == ArchiveTSAPath:
		return classTSA, tsa.MaxRequestSize
	case path == "/ocsp" || strings.HasPrefix(path, "/ocsp/"):
		return classOCSP, ocsp.MaxRequestSize
	}
	return classStatic, 0
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	class, maxBody := classify(r.URL.Path)
	rate := g.limits.Static
	switch class {
	case classTSA:
		rate = g.limits.TSA
	case classOCSP:
		rate = g.limits.OCSP
	}
	if rate.PerSecond > 0 {
		if tokens, ok := g.buckets.Take(class+clientOf(r), rate, time.Now()); !ok {
			wait := int(math.Max(1, math.Min(maxRetryAfter, math.Ceil((1-tokens)/rate.PerSecond))))
			refuse(w, http.StatusTooManyRequests, wait, "rate-limited", "Too many requests", "rate limit of this endpoint exceeded; retry later")
			return
		}
	}
	if r.ContentLength > maxBody {
		refuse(w, http.StatusRequestEntityTooLarge, 0, "too-large", "Request too large", "request body exceeds "+strconv.FormatInt(maxBody, 10)+" bytes")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	// A network client does not choose to bypass the OCSP responder's
	// pre-produced responses (see [ocsp.Responder.ServeHTTP]).
	r.Header.Del("Cache-Control")
	if class != classStatic {
		select {
		case g.inFlight <- struct{}{}:
			defer func() { <-g.inFlight }()
		default:
			refuse(w, http.StatusServiceUnavailable, 1, "unavailable", "Service unavailable", "too many requests in progress; retry later")
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// clientOf names r's client: its IPv4 address, or its IPv6 address's
// /64.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// problemBase is the prefix of problem type URIs, as in package api.
const problemBase = "https://signet.dev/problems/"

// refuse answers with an RFC 9457 problem of status, and Retry-After when
// retry is positive.
func refuse(w http.ResponseWriter, status, retry int, slug, title, detail string) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{problemBase + slug, title, status, detail})
	_, _ = w.Write(b)
}

// maxRetryAfter bounds the Retry-After of a refusal, in seconds.
const maxRetryAfter = 24 * 60 * 60
