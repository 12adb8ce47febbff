package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/mail/sms"
)

const token = "gw-token-4f1d2c"

// gateway is a real HTTP SMS gateway on a test server: it answers each
// attempt with the next of statuses (the last one repeats) and keeps what
// it received.
type gateway struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
	// block, when set, holds every request until the client gives up.
	block bool
}

type received struct {
	method, path, auth, contentType string
	To, Text                        string
}

func newGateway(t *testing.T, statuses ...int) *gateway {
	g := &gateway{statuses: statuses}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ To, Text string }
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			t.Errorf("gateway: body: %v", err)
		}
		g.mu.Lock()
		g.got = append(g.got, received{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), in.To, in.Text})
		st := g.statuses[min(len(g.got), len(g.statuses))-1]
		block := g.block
		g.mu.Unlock()
		if block {
			<-r.Context().Done()
			return
		}
		if st == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(st)
		// A gateway that echoes the request, as some do in errors.
		w.Write([]byte(`{"error":"refused","to":"` + in.To + `","text":"` + in.Text + `"}`))
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) received() []received {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]received(nil), g.got...)
}

func TestSendSMS(t *testing.T) {
	const to, text = "+41791234567", "Your Signet code is 492817"
	tests := []struct {
		name     string
		statuses []int
		attempts int // requests the gateway must see
		status   int // the StatusError's status; 0 for success
	}{
		{"accepted", []int{200}, 1, 0},
		{"accepted with 202", []int{202}, 1, 0},
		{"5xx retried until accepted", []int{503, 502, 200}, 3, 0},
		{"5xx until attempts run out", []int{500}, 3, 500},
		{"4xx not retried", []int{400}, 1, 400},
		{"401 not retried", []int{401}, 1, 401},
		{"429 not retried", []int{429}, 1, 429},
		{"redirect neither followed nor retried", []int{302}, 1, 302},
		{"5xx then 4xx stops", []int{503, 422}, 2, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, tt.statuses...)
			gw, err := sms.New(sms.Config{URL: g.srv.URL + "/v1/messages", Token: token, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			err = gw.SendSMS(t.Context(), to, text)
			got := g.received()
			if len(got) != tt.attempts {
				t.Fatalf("%d requests, want %d", len(got), tt.attempts)
			}
			for _, r := range got {
				if r.method != "POST" || r.path != "/v1/messages" || r.auth != "Bearer "+token || r.contentType != "application/json" || r.To != to || r.Text != text {
					t.Fatalf("gateway received %+v", r)
				}
			}
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *sms.StatusError
			if !errors.As(err, &se) || se.Status != tt.status || se.Attempts != tt.attempts {
				t.Fatalf("error %v, want status %d after %d attempts", err, tt.status, tt.attempts)
			}
			// The error reveals neither the text (which the answer echoed),
			// nor the number, the token or the URL.
			for _, s := range []string{"492817", text, to, token, g.srv.URL, "messages"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q reveals %q", err, s)
				}
			}
		})
	}
}

// TestSendSMSTimeout: an attempt that outlasts the timeout fails, and is
// not retried (the gateway may have sent the message).
func TestSendSMSTimeout(t *testing.T) {
	g := newGateway(t, 200)
	g.mu.Lock()
	g.block = true
	g.mu.Unlock()
	gw, err := sms.New(sms.Config{URL: g.srv.URL, Token: token, Timeout: 50 * time.Millisecond, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = gw.SendSMS(t.Context(), "+14155550123", "code 123456")
	if err == nil || strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), g.srv.URL) {
		t.Fatalf("error %v", err)
	}
	if n := len(g.received()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestSendSMSCancelledDuringBackoff: a cancelled context ends the
// retries.
func TestSendSMSCancelledDuringBackoff(t *testing.T) {
	g := newGateway(t, 503)
	gw, err := sms.New(sms.Config{URL: g.srv.URL, Token: token, Backoff: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(g.received()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if err := gw.SendSMS(ctx, "+14155550123", "code 123456"); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := len(g.received()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestSendSMSInvalid: a bad number or text is refused before any request.
func TestSendSMSInvalid(t *testing.T) {
	g := newGateway(t, 200)
	gw, err := sms.New(sms.Config{URL: g.srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ to, text string }{
		{"0791234567", "x"}, {"+41 79 123 45 67", "x"}, {"+4179123456789012", "x"}, {"", "x"},
		{"+41791234567", ""}, {"+41791234567", strings.Repeat("x", sms.MaxTextLen+1)},
	} {
		if err := gw.SendSMS(t.Context(), c.to, c.text); !errors.Is(err, sms.ErrInvalidMessage) {
			t.Errorf("SendSMS(%q, %d bytes) = %v, want ErrInvalidMessage", c.to, len(c.text), err)
		}
	}
	if n := len(g.received()); n != 0 {
		t.Fatalf("%d requests for invalid messages", n)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  sms.Config
		ok   bool
	}{
		{"https", sms.Config{URL: "https://sms.example.com/send", Token: token}, true},
		{"http to loopback", sms.Config{URL: "http://127.0.0.1:8080/send", Token: token}, true},
		{"http to localhost", sms.Config{URL: "http://localhost:8080/send", Token: token}, true},
		{"http elsewhere", sms.Config{URL: "http://sms.example.com/send", Token: token}, false},
		{"other scheme", sms.Config{URL: "ftp://sms.example.com/send", Token: token}, false},
		{"relative", sms.Config{URL: "/send", Token: token}, false},
		{"credentials in the URL", sms.Config{URL: "https://u:p@sms.example.com/send", Token: token}, false},
		{"no URL", sms.Config{Token: token}, false},
		{"no token", sms.Config{URL: "https://sms.example.com/send"}, false},
		{"token with a line break", sms.Config{URL: "https://sms.example.com/send", Token: "a\r\nX-Evil: 1"}, false},
		{"negative timeout", sms.Config{URL: "https://sms.example.com/send", Token: token, Timeout: -1}, false},
		{"timeout too long", sms.Config{URL: "https://sms.example.com/send", Token: token, Timeout: time.Hour}, false},
		{"too many attempts", sms.Config{URL: "https://sms.example.com/send", Token: token, Attempts: sms.MaxAttempts + 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sms.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok %v", err, tt.ok)
			}
			if err != nil && tt.cfg.Token != "" && strings.Contains(err.Error(), tt.cfg.Token) {
				t.Fatalf("error %q reveals the token", err)
			}
		})
	}
}
