package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/server"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a server started in a temporary data directory.
type running struct {
	t        testing.TB
	srv      *server.Server
	dir      string
	logs     *syncBuffer
	terminal *syncBuffer
	done     chan error
	client   *http.Client
	base     string
}

var keyRE = regexp.MustCompile(`sk_[A-Za-z0-9_-]{43}`)

func start(t testing.TB, dir string, mod func(*server.Config), opts ...server.Option) *running {
	t.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: dir}
	if mod != nil {
		mod(&cfg)
	}
	r := &running{t: t, dir: dir, logs: &syncBuffer{}, terminal: &syncBuffer{}, done: make(chan error, 1)}
	logger := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]server.Option{server.WithLogger(logger), server.WithTerminal(r.terminal)}, opts...)
	srv, err := server.New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	r.base = "https://" + srv.Addr().String()
	r.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots()}}, Timeout: 20 * time.Second}
	return r
}

// roots reads DATA/pki/root.pem, the trust anchor client commands use.
func (r *running) roots() *x509.CertPool {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "pki", "root.pem"))
	if err != nil {
		r.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		r.t.Fatal("root.pem holds no certificate")
	}
	return pool
}

// bootstrapKey returns the key printed on the terminal.
func (r *running) bootstrapKey() string {
	r.t.Helper()
	keys := keyRE.FindAllString(r.terminal.String(), -1)
	if len(keys) != 1 {
		r.t.Fatalf("terminal shows %d keys: %q", len(keys), r.terminal.String())
	}
	return keys[0]
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *running) do(method, path, secret string, body any) resp {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (r *running) stop() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		r.t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
