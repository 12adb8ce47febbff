package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rewriting returns a handler that edits each parsed request before the real
// server answers it, simulating a TSA that answers a different question.
func rewriting(t testing.TB, s *Server, edit func(*Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := ParseRequest(body)
		if err != nil {
			t.Errorf("client sent a bad request: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		edit(req)
		der, err := req.Marshal()
		if err != nil {
			t.Errorf("re-marshal: %v", err)
			return
		}
		resp, err := s.Respond(der)
		if err != nil {
			t.Errorf("Respond: %v", err)
			return
		}
		w.Header().Set("Content-Type", ContentTypeReply)
		w.Write(resp)
	}
}

// replying returns a handler that answers every request with body.
func replying(status int, contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write(body)
	}
}

// serve starts h and returns its URL.
func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientFailsClosed(t *testing.T) {
	p := newPKI(t)
	digest := digestOf(crypto.SHA256, "fail closed")
	rejection, err := marshalResponse(StatusRejection, FailureSystemFailure, "down for maintenance", nil)
	if err != nil {
		t.Fatal(err)
	}
	otherPolicy := p.server()
	otherPolicy.Policy = []int{1, 2, 3, 4}

	tests := []struct {
		name    string
		handler func(t *testing.T) http.Handler
		client  func(c *Client)
		is      error
		as      any
	}{
		{name: "wrong nonce", handler: func(t *testing.T) http.Handler {
			return rewriting(t, p.server(), func(r *Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) })
		}, is: ErrNonce},
		{name: "nonce dropped", handler: func(t *testing.T) http.Handler {
			return rewriting(t, p.server(), func(r *Request) { r.Nonce = nil })
		}, is: ErrNonce},
		{name: "wrong imprint", handler: func(t *testing.T) http.Handler {
			return rewriting(t, p.server(), func(r *Request) { r.Digest = digestOf(crypto.SHA256, "something else") })
		}, is: ErrImprint},
		{name: "wrong imprint hash", handler: func(t *testing.T) http.Handler {
			return rewriting(t, p.server(), func(r *Request) { r.Hash, r.Digest = crypto.SHA512, digestOf(crypto.SHA512, "x") })
		}, is: ErrImprint},
		{name: "policy not honoured", handler: func(t *testing.T) http.Handler {
			return rewriting(t, otherPolicy, func(r *Request) { r.Policy = nil })
		}, client: func(c *Client) { c.Policy = testPolicy }, is: ErrPolicy},
		{name: "policy refused", handler: func(*testing.T) http.Handler { return otherPolicy },
			client: func(c *Client) { c.Policy = testPolicy }, as: new(*StatusError)},
		{name: "status rejection", handler: func(*testing.T) http.Handler {
			return replying(http.StatusOK, ContentTypeReply, rejection)
		}, as: new(*StatusError)},
		{name: "garbage", handler: func(*testing.T) http.Handler {
			return replying(http.StatusOK, ContentTypeReply, []byte("<html>surprise</html>"))
		}, is: ErrMalformed},
		{name: "wrong content type", handler: func(t *testing.T) http.Handler {
			return replying(http.StatusOK, "text/html", mustResponse(t, p.server()))
		}},
		{name: "HTTP error", handler: func(*testing.T) http.Handler {
			return replying(http.StatusServiceUnavailable, ContentTypeReply, rejection)
		}},
		{name: "oversized reply", handler: func(*testing.T) http.Handler {
			return replying(http.StatusOK, ContentTypeReply, make([]byte, maxResponseSize+1))
		}},
		{name: "timeout", handler: func(t *testing.T) http.Handler {
			// The handler answers only once the client has given up: reading
			// the whole body lets the server notice the closed connection and
			// cancel the request context.
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			})
		}, client: func(c *Client) { c.Timeout = 50 * time.Millisecond }, is: context.DeadlineExceeded},
		{name: "non-critical EKU", handler: func(*testing.T) http.Handler {
			return newPKI(t, nonCriticalEKU).server()
		}, is: ErrEKU},
		{name: "untrusted root", handler: func(*testing.T) http.Handler { return newPKI(t).server() },
			client: func(c *Client) { c.Roots = p.rootPool }, as: new(x509.UnknownAuthorityError)},
		{name: "chain expired at Now", handler: func(*testing.T) http.Handler { return p.server() },
			client: func(c *Client) {
				c.Roots = p.rootPool
				c.Now = func() time.Time { return pkiNotAfter.Add(time.Hour) }
			}, as: new(x509.CertificateInvalidError)},
		{name: "genTime outside certificate", handler: func(*testing.T) http.Handler {
			return newPKI(t, validity(pkiNotBefore, testNow.Add(-time.Minute))).server()
		}, is: ErrGenTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, tc.handler(t))
			c := &Client{URLs: []string{url}}
			if tc.client != nil {
				tc.client(c)
			}
			tok, err := c.Timestamp(context.Background(), crypto.SHA256, digest)
			if tok != nil || err == nil {
				t.Fatalf("Timestamp returned token=%v, error %v", tok != nil, err)
			}
			if !errors.Is(err, ErrNoToken) {
				t.Errorf("error %v does not wrap ErrNoToken", err)
			}
			if !strings.Contains(err.Error(), url) {
				t.Errorf("error %q does not name %s", err, url)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("error %v does not wrap a %T", err, tc.as)
			}
		})
	}
}

// mustResponse returns a granted response of s for an arbitrary request.
func mustResponse(t testing.TB, s *Server) []byte {
	t.Helper()
	resp, err := s.Respond(mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "any"), CertReq: true}))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// counting wraps h and counts its requests.
func counting(h http.Handler, n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

func TestClientFallback(t *testing.T) {
	p := newPKI(t)
	digest := digestOf(crypto.SHA384, "fallback")
	var badHits, goodHits atomic.Int32
	bad := serve(t, counting(rewriting(t, p.server(), func(r *Request) { r.Nonce = big.NewInt(1) }), &badHits))
	good := serve(t, counting(p.server(), &goodHits))
	closed := httptest.NewServer(p.server())
	closed.Close()

	tests := []struct {
		name           string
		urls           []string
		wantBad, wantG int32
	}{
		{"bad then good", []string{bad, good}, 1, 1},
		{"refused then good", []string{closed.URL, good}, 0, 1},
		{"good first", []string{good, bad}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			badHits.Store(0)
			goodHits.Store(0)
			var results []string
			c := &Client{URLs: tc.urls, Roots: p.rootPool, Policy: testPolicy, Now: func() time.Time { return testNow },
				Observe: func(ctx context.Context, url string) (context.Context, func(error)) {
					return ctx, func(err error) { results = append(results, fmt.Sprintf("%s %v", url, err == nil)) }
				}}
			tok, err := c.Timestamp(context.Background(), crypto.SHA384, digest)
			if err != nil {
				t.Fatal(err)
			}
			// Each URL asked is reported once, the failing ones as such.
			var want []string
			for _, u := range tc.urls {
				want = append(want, fmt.Sprintf("%s %v", u, u == good))
				if u == good {
					break
				}
			}
			if !slices.Equal(results, want) {
				t.Errorf("reported %q, want %q", results, want)
			}
			if err := tok.CheckImprint(crypto.SHA384, digest); err != nil {
				t.Error(err)
			}
			if got := badHits.Load(); got != tc.wantBad {
				t.Errorf("bad TSA asked %d times, want %d", got, tc.wantBad)
			}
			if got := goodHits.Load(); got != tc.wantG {
				t.Errorf("good TSA asked %d times, want %d", got, tc.wantG)
			}
		})
	}
}

func TestClientRequests(t *testing.T) {
	p := newPKI(t)
	var seen []*Request
	record := func(r *Request) {
		seen = append(seen, &Request{Hash: r.Hash, Digest: r.Digest, Policy: r.Policy, Nonce: r.Nonce, CertReq: r.CertReq})
	}
	url := serve(t, rewriting(t, p.server(), record))
	digest := digestOf(crypto.SHA256, "nonce")

	// Nonces come from Rand: 64 bits each, fresh per request.
	rnd := bytes.NewReader(append(bytes.Repeat([]byte{0xff}, 8), 0x80, 0, 0, 0, 0, 0, 0, 1))
	c := &Client{URLs: []string{url}, Rand: rnd, Policy: testPolicy}
	for range 2 {
		if _, err := c.Timestamp(context.Background(), crypto.SHA256, digest); err != nil {
			t.Fatal(err)
		}
	}
	want := []*big.Int{new(big.Int).SetUint64(1<<64 - 1), new(big.Int).SetUint64(1<<63 + 1)}
	for i, r := range seen {
		if !sameBig(r.Nonce, want[i]) || !r.CertReq || !r.Policy.Equal(testPolicy) || !bytes.Equal(r.Digest, digest) {
			t.Errorf("request %d: %+v, want nonce %v, certReq, policy", i, r, want[i])
		}
	}
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2", len(seen))
	}
	// An exhausted Rand means no request at all.
	if _, err := c.Timestamp(context.Background(), crypto.SHA256, digest); !errors.Is(err, ErrNoToken) || len(seen) != 2 {
		t.Errorf("exhausted Rand: %v after %d requests", err, len(seen))
	}
}

func TestClientArguments(t *testing.T) {
	p := newPKI(t)
	var hits atomic.Int32
	url := serve(t, counting(p.server(), &hits))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		c      *Client
		ctx    context.Context
		h      crypto.Hash
		digest []byte
		is     []error
	}{
		{"no URLs", &Client{}, context.Background(), crypto.SHA256, make([]byte, 32), []error{ErrNoToken}},
		{"sha1", &Client{URLs: []string{url}}, context.Background(), crypto.SHA1, make([]byte, 20), []error{ErrUnsupportedHash}},
		{"md5", &Client{URLs: []string{url}}, context.Background(), crypto.MD5, make([]byte, 16), []error{ErrUnsupportedHash}},
		{"short digest", &Client{URLs: []string{url}}, context.Background(), crypto.SHA256, make([]byte, 20), []error{ErrNoToken}},
		{"canceled", &Client{URLs: []string{url, url}}, canceled, crypto.SHA256, make([]byte, 32), []error{ErrNoToken, context.Canceled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.c.Timestamp(tc.ctx, tc.h, tc.digest)
			if tok != nil {
				t.Fatal("got a token")
			}
			for _, is := range tc.is {
				if !errors.Is(err, is) {
					t.Errorf("error %v does not wrap %v", err, is)
				}
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("TSA was asked %d times", n)
	}
}

// TestClientChainCache checks that a validated chain is reused only while
// it is the same signer and certificates and Now lies within their
// validity: a later time, or another TSA behind the same URL, is checked
// afresh.
func TestClientChainCache(t *testing.T) {
	p := newPKI(t)
	var handler atomic.Value
	handler.Store(http.Handler(p.server()))
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	now := testNow
	c := &Client{URLs: []string{url}, Roots: p.rootPool, Now: func() time.Time { return now }}
	digest := digestOf(crypto.SHA256, "cached")
	for range 2 {
		if _, err := c.Timestamp(context.Background(), crypto.SHA256, digest); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.chains.m); n != 1 {
		t.Fatalf("%d cached chains after two tokens of one TSA, want 1", n)
	}

	now = pkiNotAfter.Add(time.Hour)
	_, err := c.Timestamp(context.Background(), crypto.SHA256, digest)
	if !errors.As(err, new(x509.CertificateInvalidError)) {
		t.Errorf("after the chain expired: error %v, want a CertificateInvalidError", err)
	}

	now = testNow
	handler.Store(http.Handler(newPKI(t).server()))
	_, err = c.Timestamp(context.Background(), crypto.SHA256, digest)
	if !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Errorf("another TSA behind the URL: error %v, want an UnknownAuthorityError", err)
	}

	handler.Store(http.Handler(newPKI(t, nonCriticalEKU).server()))
	if _, err = c.Timestamp(context.Background(), crypto.SHA256, digest); !errors.Is(err, ErrEKU) {
		t.Errorf("signer without a critical EKU: error %v, want ErrEKU", err)
	}
}
