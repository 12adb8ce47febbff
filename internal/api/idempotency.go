package api

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// HeaderIdempotencyKey is the request header naming an idempotent request
// (draft-ietf-httpapi-idempotency-key-header).
const HeaderIdempotencyKey = "Idempotency-Key"

// DefaultIdempotencyTTL is how long a key is remembered.
const DefaultIdempotencyTTL = 24 * time.Hour

// Idempotency is middleware that makes POST requests carrying an
// Idempotency-Key safe to retry. Per principal and key:
//
//   - the first request runs; its response is stored unless it failed with
//     a 5xx or 429 status (then the key is released for a retry);
//   - a later request with the same method, path, content type and body
//     replays the stored status, headers and body, marked with
//     "Idempotent-Replayed: true";
//   - one with a different request is refused with 422
//     "idempotency-key-reused";
//   - one arriving while the first is still running is refused with 409
//     "idempotency-key-in-flight".
//
// A response that carries a secret shown only once (a new API key, a
// recipient session token) is marked by its handler with [MarkSecret] or
// [WriteSecretJSON]. Of such a response only a marker is stored (status,
// request hash; no headers, no body), and a repeated request is refused with
// 409 "secret-shown-once" instead of being replayed: the secret is never at
// rest in the idempotency records.
//
// Records expire after TTL. The principal is the authenticated API key;
// unauthenticated routes (recipient links) are keyed by the SHA-256 of the
// Authorization header, and requests with neither are not deduplicated.
type Idempotency struct {
	Store IdempotencyStore
	// TTL defaults to [DefaultIdempotencyTTL].
	TTL time.Duration
	// Lease is how long an in-flight record blocks retries before it is
	// presumed abandoned (a crashed process); default 10 minutes.
	Lease time.Duration
	// MaxBody bounds the request body hashed (default 32 MiB) and
	// MaxResponse the response stored (default 8 MiB; larger responses
	// are sent but not stored, and the key is released).
	MaxBody     int64
	MaxResponse int
	// Now defaults to time.Now.
	Now func() time.Time
	// HashKey, if set, keys the stored request hash (HMAC-SHA256): a
	// request body may hold a secret of low entropy (a recipient's access
	// code), which an unkeyed hash would let a reader of the records
	// search offline. The service sets a key derived from its master key.
	HashKey []byte
	// BodyKey, if set (32 bytes), seals each stored response body
	// (AES-256-GCM, bound to the principal, the key and the request
	// hash): a replayable response may name people (an envelope's
	// recipients). The service sets a key derived from its master key.
	// Bodies stored in clear before it was set still replay, until they
	// expire.
	BodyKey []byte
}

// sealedBodyPrefix starts a stored body sealed under [Idempotency.BodyKey].
const sealedBodyPrefix = "SGB1"

func (m *Idempotency) bodyAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(m.BodyKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// bodyAD binds a sealed body to its record.
func bodyAD(rec *IdempotencyRecord) []byte {
	return []byte(strconv.Itoa(len(rec.Principal)) + ":" + rec.Principal + strconv.Itoa(len(rec.Key)) + ":" + rec.Key + string(rec.RequestHash[:]))
}

// sealBody returns body as stored: sealed with BodyKey if set.
func (m *Idempotency) sealBody(rec *IdempotencyRecord, body []byte) ([]byte, error) {
	if m.BodyKey == nil {
		return body, nil
	}
	aead, err := m.bodyAEAD()
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(sealedBodyPrefix)+aead.NonceSize(), len(sealedBodyPrefix)+aead.NonceSize()+len(body)+aead.Overhead())
	copy(out, sealedBodyPrefix)
	nonce := out[len(sealedBodyPrefix):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, body, bodyAD(rec)), nil
}

// openBody returns the body of a stored record.
func (m *Idempotency) openBody(rec *IdempotencyRecord) ([]byte, error) {
	rest, ok := bytes.CutPrefix(rec.Body, []byte(sealedBodyPrefix))
	if m.BodyKey == nil || !ok {
		return rec.Body, nil
	}
	aead, err := m.bodyAEAD()
	if err != nil {
		return nil, err
	}
	if len(rest) < aead.NonceSize() {
		return nil, errors.New("api: idempotency: sealed body truncated")
	}
	return aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], bodyAD(rec))
}

func (m *Idempotency) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// validIdempotencyKey accepts 1–255 visible ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for _, c := range []byte(k) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func idempotencyPrincipal(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return string(p.Kind) + ":" + p.ID
	}
	if a := r.Header.Get("Authorization"); a != "" {
		s := sha256.Sum256([]byte(a))
		return "credential:" + hex.EncodeToString(s[:])
	}
	return ""
}

// Middleware returns next wrapped with idempotency handling.
func (m *Idempotency) Middleware(next http.Handler) http.Handler {
	ttl, lease := m.TTL, m.Lease
	if ttl == 0 {
		ttl = DefaultIdempotencyTTL
	}
	if lease == 0 {
		lease = 10 * time.Minute
	}
	maxBody, maxResp := m.MaxBody, m.MaxResponse
	if maxBody == 0 {
		maxBody = 32 << 20
	}
	if maxResp == 0 {
		maxResp = 8 << 20
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(HeaderIdempotencyKey)
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !validIdempotencyKey(key) {
			WriteProblem(w, r, &Error{Kind: KindInvalid, Type: "invalid-idempotency-key", Status: http.StatusBadRequest, Detail: "Idempotency-Key must be 1–255 visible ASCII characters"})
			return
		}
		principal := idempotencyPrincipal(r)
		if principal == "" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			WriteProblem(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		if m.HashKey != nil {
			h = hmac.New(sha256.New, m.HashKey)
		}
		for _, s := range []string{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type")} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write(body)
		now := m.now().UTC()
		rec := IdempotencyRecord{Principal: principal, Key: key, CreatedAt: now, ExpiresAt: now.Add(ttl)}
		h.Sum(rec.RequestHash[:0])

		prev, err := m.Store.Reserve(r.Context(), rec, now, now.Add(-lease))
		if err != nil {
			WriteProblem(w, r, &Error{Kind: KindUnavailable, Detail: "idempotency records are unavailable", Err: err})
			return
		}
		if prev != nil {
			switch {
			case prev.RequestHash != rec.RequestHash:
				WriteProblem(w, r, &Error{Kind: KindInvalid, Type: "idempotency-key-reused", Detail: "this Idempotency-Key was used with a different request"})
			case !prev.Done:
				WriteProblem(w, r, &Error{Kind: KindConflict, Type: "idempotency-key-in-flight", Detail: "a request with this Idempotency-Key is still in progress"})
			case prev.Secret:
				WriteProblem(w, r, &Error{Kind: KindConflict, Type: "secret-shown-once", Title: "Secret shown once",
					Detail: "the request with this Idempotency-Key was answered with status " + strconv.Itoa(prev.Status) +
						"; that response carried a secret, which is shown only once and not kept, so it cannot be replayed." +
						" If it was lost, start again with a new Idempotency-Key (and revoke an API key whose secret was not received)."})
			default:
				body, err := m.openBody(prev)
				if err != nil {
					WriteProblem(w, r, &Error{Kind: KindUnavailable, Detail: "the stored response does not open", Err: err})
					return
				}
				p := *prev
				p.Body = body
				replay(w, &p)
			}
			return
		}

		secret := new(atomic.Bool)
		r = r.WithContext(context.WithValue(r.Context(), secretMarkKey{}, secret))
		cw := &captureWriter{ResponseWriter: w, max: maxResp, secret: secret}
		stored := false
		defer func() {
			if !stored {
				// Panics and failures release the key so a retry can run.
				if err := m.Store.Release(context.WithoutCancel(r.Context()), principal, key); err != nil {
					Logger(r.Context()).ErrorContext(r.Context(), "cannot release idempotency key", "error", err.Error())
				}
			}
		}()
		next.ServeHTTP(cw, r)
		status := cw.status
		if status == 0 {
			status = http.StatusOK
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			return
		}
		switch {
		case secret.Load():
			// Only a marker: the secret must not be kept.
			rec.Done, rec.Status, rec.Secret = true, status, true
		case cw.overflow:
			return
		default:
			body, err := m.sealBody(&rec, cw.buf.Bytes())
			if err != nil {
				Logger(r.Context()).ErrorContext(r.Context(), "cannot seal idempotent response", "error", err.Error())
				return
			}
			rec.Done, rec.Status, rec.Header, rec.Body = true, status, replayHeaders(cw.Header()), body
		}
		if err := m.Store.Complete(context.WithoutCancel(r.Context()), rec); err != nil {
			Logger(r.Context()).ErrorContext(r.Context(), "cannot store idempotent response", "error", err.Error())
			return
		}
		stored = true
	})
}

// replayHeaders keeps the representation headers of a response, dropping
// per-request ones (request id, rate limits, dates).
func replayHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Content-Type", "Location", "Cache-Control", "Content-Disposition", "ETag", "Last-Modified"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

func replay(w http.ResponseWriter, rec *IdempotencyRecord) {
	for k, v := range rec.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.Body)))
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

type secretMarkKey struct{}

// MarkSecret records that the response to r carries a secret shown only
// once, such as a new API key or a session token: the [Idempotency]
// middleware then keeps no copy of the response and refuses to replay it.
// Call it before writing the body. Outside the middleware it does nothing.
func MarkSecret(r *http.Request) {
	if f, ok := r.Context().Value(secretMarkKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

// WriteSecretJSON answers r with status and v, which carries a secret,
// encoded as JSON: it calls [MarkSecret], forbids caching
// (Cache-Control: no-store) and writes v with [WriteJSON].
func WriteSecretJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	MarkSecret(r)
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, status, v)
}

// captureWriter passes a response through while keeping a copy, unless
// the response is marked secret.
type captureWriter struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	max      int
	overflow bool
	secret   *atomic.Bool
}

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.secret.Load() {
		c.buf = bytes.Buffer{}
	} else if !c.overflow {
		if c.buf.Len()+len(b) > c.max {
			c.overflow = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(b)
		}
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
