// Package verify is the public verification endpoint, POST /v1/verify:
// anyone may send a signed PDF or an evidence bundle and get its report,
// as JSON or, for a browser, as HTML. It needs no login, is rate-limited
// per client IP and bounded in size and concurrency, and stores nothing:
// the body is read into memory (within the bound), verified with
// [pades.Verify] or [evidence.Verify] and dropped; no file, no record,
// no audit event, no log line holds any of it.
//
// Trust is the server's: its built-in root and the configured time-stamp
// authorities' roots, given as [Config.Roots].
package verify

import (
	"bytes"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/tokenbucket"
	"github.com/signet-pki/signet/pades"
)

// OpenAPI is this package's OpenAPI 3.1 fragment, merged by
// [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte

// Defaults of [Config].
const (
	DefaultMaxBody       = 32 << 20
	DefaultMaxConcurrent = 4
	DefaultMaxClients    = 10000
)

// DefaultRate is the per-IP rate of verifications: a burst of 10, then
// one every two seconds. Verifying is work (every signature, every
// proof); the endpoint is public.
var DefaultRate = tokenbucket.Rate{PerSecond: 0.5, Burst: 10}

// Config configures a [Handler].
type Config struct {
	// Roots are the trust anchors reports are made with.
	Roots *x509.CertPool
	// MaxBody bounds a request body in bytes (413 beyond); zero means
	// DefaultMaxBody.
	MaxBody int64
	// Rate limits verifications per client IP (429 beyond); zero means
	// DefaultRate.
	Rate tokenbucket.Rate
	// MaxClients bounds the client IPs whose buckets are kept.
	MaxClients int
	// MaxConcurrent bounds the verifications running at once (503
	// beyond): each holds its body in memory.
	MaxConcurrent int
	// Now is the validation time and the rate limiter's clock; nil means
	// time.Now.
	Now func() time.Time
}

// A Handler serves POST /v1/verify.
type Handler struct {
	cfg     Config
	buckets *tokenbucket.Set
	slots   chan struct{}
}

// New returns the handler of cfg.
func New(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Rate.PerSecond <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, buckets: tokenbucket.New(cfg.MaxClients), slots: make(chan struct{}, cfg.MaxConcurrent)}
}

// Register mounts POST /v1/verify on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.Handle("POST /v1/verify", http.HandlerFunc(h.serve))
}

// Kinds of reports.
const (
	KindPDF    = "pdf"
	KindBundle = "bundle"
)

// Answer is the JSON answer: the kind of input and its report
// (a pades.Report or an evidence.Report).
type Answer struct {
	Kind   string `json:"kind"`
	Report any    `json:"report"`
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	now := h.cfg.Now()
	if tokens, ok := h.buckets.Take("ip:"+api.ClientIP(r), h.cfg.Rate, now); !ok {
		retry := int((1-tokens)/h.cfg.Rate.PerSecond) + 1
		api.WriteProblem(w, r, &api.RetryAfterError{Err: &api.Error{Kind: api.KindRateLimited, Detail: "too many verifications from this address; retry later"}, Seconds: retry})
		return
	}
	if r.ContentLength > h.cfg.MaxBody {
		api.WriteProblem(w, r, tooLarge(h.cfg.MaxBody))
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		api.WriteProblem(w, r, &api.RetryAfterError{Err: &api.Error{Kind: api.KindUnavailable, Detail: "the server is verifying as many documents as it can; retry shortly"}, Seconds: 2})
		return
	}
	body, err := readBody(w, r, h.cfg.MaxBody)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ans, err := h.verify(body, now)
	body = nil
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept")
	if PrefersHTML(r.Header.Get("Accept")) {
		writeHTML(w, r, ans, now)
		return
	}
	b, err := json.MarshalIndent(ans, "", "  ")
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// verify sniffs body and verifies it.
func (h *Handler) verify(body []byte, now time.Time) (*Answer, error) {
	clock := func() time.Time { return now }
	switch Sniff(body) {
	case KindPDF:
		rep, err := pades.Verify(bytes.NewReader(body), int64(len(body)), pades.VerifyOptions{Roots: h.cfg.Roots, Now: clock})
		if err != nil {
			return nil, &api.Error{Kind: api.KindInvalid, Type: "unreadable-pdf", Title: "Unreadable PDF", Detail: "the body starts like a PDF but cannot be read as one", Err: err}
		}
		return &Answer{Kind: KindPDF, Report: rep}, nil
	case KindBundle:
		rep, err := evidence.Verify(bytes.NewReader(body), int64(len(body)), evidence.VerifyOptions{Roots: h.cfg.Roots, Now: clock,
			MaxFileSize: 4 * h.cfg.MaxBody, MaxTotalSize: 8 * h.cfg.MaxBody})
		switch {
		case errors.Is(err, evidence.ErrLimit):
			return nil, &api.Error{Kind: api.KindTooLarge, Detail: "the bundle exceeds the verifier's limits (entries, sizes or compression ratio)", Err: err}
		case err != nil:
			return nil, &api.Error{Kind: api.KindInvalid, Type: "not-a-bundle", Title: "Not an evidence bundle", Detail: "the body is a ZIP file but not an evidence bundle (no manifest, or unreadable)", Err: err}
		}
		return &Answer{Kind: KindBundle, Report: rep}, nil
	}
	return nil, &api.Error{Kind: api.KindUnsupportedMedia, Detail: "send a PDF (application/pdf) or an evidence bundle (application/zip)"}
}

// Sniff returns KindPDF or KindBundle by the body's magic, or "": a PDF
// has "%PDF-" in its first 1024 bytes (ISO 32000-2 §7.5.2 tolerates
// leading bytes), a bundle is a ZIP ("PK\x03\x04").
func Sniff(body []byte) string {
	switch {
	case bytes.HasPrefix(body, []byte("PK\x03\x04")):
		return KindBundle
	case bytes.Contains(body[:min(len(body), 1024)], []byte("%PDF-")):
		return KindPDF
	}
	return ""
}

// readBody reads the body into memory, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := io.Copy(&buf, http.MaxBytesReader(w, r.Body, limit))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return nil, tooLarge(limit)
	case err != nil:
		return nil, &api.Error{Kind: api.KindInvalid, Status: http.StatusBadRequest, Detail: "the body could not be read", Err: err}
	case buf.Len() == 0:
		return nil, &api.Error{Kind: api.KindUnsupportedMedia, Detail: "the body is empty: send a PDF or an evidence bundle"}
	}
	return buf.Bytes(), nil
}

func tooLarge(limit int64) error {
	return &api.Error{Kind: api.KindTooLarge, Detail: "the body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}
}
