// Package webhooktest is a webhook receiver for tests: a real HTTP server
// that verifies every delivery's Standard Webhooks signatures with its own
// implementation (independent of package webhook's Verify), refuses
// replays and timestamps outside its tolerance, and can be told to fail.
package webhooktest

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Delivery is one request the receiver accepted.
type Delivery struct {
	ID        string
	Timestamp int64
	Body      []byte
	Signature string // the webhook-signature header
}

// A Receiver records verified deliveries.
type Receiver struct {
	// Server is the running HTTP server; its URL is the endpoint.
	Server *httptest.Server

	mu        sync.Mutex
	secrets   [][]byte
	keys      []ed25519.PublicKey
	tolerance time.Duration
	failNext  int
	seen      map[string]bool
	accepted  []Delivery
	rejected  []string
	requests  int
}

// New starts a receiver accepting signatures by secret ("whsec_<base64>").
// Close it with Close.
func New(secret string) *Receiver {
	r := &Receiver{tolerance: 5 * time.Minute, seen: map[string]bool{}}
	if secret != "" {
		r.SetSecrets(secret)
	}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL returns the receiver's endpoint URL.
func (r *Receiver) URL() string { return r.Server.URL + "/hook" }

// Close stops the server.
func (r *Receiver) Close() { r.Server.Close() }

// SetSecrets replaces the accepted secrets.
func (r *Receiver) SetSecrets(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = nil
	for _, s := range secrets {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			panic("webhooktest: bad secret")
		}
		r.secrets = append(r.secrets, b)
	}
}

// SetPublicKeys makes the receiver accept v1a signatures by keys
// ("whpk_<base64>") besides v1 ones.
func (r *Receiver) SetPublicKeys(keys ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = nil
	for _, k := range keys {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(k, "whpk_"))
		if err != nil || len(b) != ed25519.PublicKeySize {
			panic("webhooktest: bad public key")
		}
		r.keys = append(r.keys, b)
	}
}

// FailNext makes the next n verified deliveries answer 503.
func (r *Receiver) FailNext(n int) {
	r.mu.Lock()
	r.failNext = n
	r.mu.Unlock()
}

// Accepted returns the deliveries answered 2xx, in order.
func (r *Receiver) Accepted() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.accepted...)
}

// Rejected returns why requests were refused (bad signature, replay…).
func (r *Receiver) Rejected() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rejected...)
}

// Requests returns how many requests arrived.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err != nil {
		r.reject(w, "body: "+err.Error())
		return
	}
	id, tsText, sigs := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil || sigs == "" {
		r.reject(w, "missing or malformed headers")
		return
	}
	if d := time.Since(time.Unix(ts, 0)); d > r.tolerance || d < -r.tolerance {
		r.reject(w, "timestamp outside tolerance")
		return
	}
	if !r.verify(id, tsText, body, sigs) {
		r.reject(w, "no valid signature")
		return
	}
	// A replay is a signed request already accepted, sent again (same id
	// and timestamp). A retry of a failed one is not a replay.
	key := id + "." + tsText
	if r.seen[key] {
		r.reject(w, "replay")
		return
	}
	if r.failNext > 0 {
		r.failNext--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	r.seen[key] = true
	r.accepted = append(r.accepted, Delivery{ID: id, Timestamp: ts, Body: body, Signature: sigs})
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) reject(w http.ResponseWriter, why string) {
	r.rejected = append(r.rejected, why)
	http.Error(w, why, http.StatusBadRequest)
}

func (r *Receiver) verify(id, ts string, body []byte, header string) bool {
	content := []byte(id + "." + ts + "." + string(body))
	ok := false
	for _, part := range strings.Fields(header) {
		v, b64, found := strings.Cut(part, ",")
		if !found {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		switch v {
		case "v1":
			for _, s := range r.secrets {
				m := hmac.New(sha256.New, s)
				m.Write(content)
				if hmac.Equal(m.Sum(nil), sig) {
					ok = true
				}
			}
		case "v1a":
			for _, k := range r.keys {
				if ed25519.Verify(k, content, sig) {
					ok = true
				}
			}
		}
	}
	return ok
}

// Replay sends d again, with its original headers, and returns the status.
func (r *Receiver) Replay(d Delivery) int {
	req, _ := http.NewRequest(http.MethodPost, r.URL(), strings.NewReader(string(d.Body)))
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(d.Timestamp, 10))
	req.Header.Set("webhook-signature", d.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
