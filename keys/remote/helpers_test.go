package remote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/remote"
	"github.com/signet-pki/signet/keys/soft"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// signerFixture is a running signer over a soft backend on a loopback
// port.
type signerFixture struct {
	url     string
	addr    string
	ca      *remote.TransportCA
	backend *soft.Backend
	// others are further backends served beside backend.
	others []keys.Backend
	enrol  []byte
	certs  *remote.CertHolder
	clock  *clock
	logs   *syncBuffer
	stop   func()
}

func newBackend(t testing.TB) *soft.Backend {
	t.Helper()
	mk := make([]byte, soft.MasterKeySize)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	b, err := soft.New(soft.Config{Dir: t.TempDir(), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startSigner starts a signer whose certificates last validity (0: the
// default), serving others beside its soft backend.
func startSigner(t testing.TB, validity time.Duration, others ...keys.Backend) *signerFixture {
	t.Helper()
	f := &signerFixture{clock: &clock{t: time.Now()}, logs: &syncBuffer{}, backend: newBackend(t), others: others, addr: "127.0.0.1:0"}
	f.enrol = make([]byte, remote.EnrolmentKeySize)
	if _, err := rand.Read(f.enrol); err != nil {
		t.Fatal(err)
	}
	f.stop = f.start(t, validity)
	return f
}

// restart stops the signer and starts it again on the same address, with
// a new transport CA.
func (f *signerFixture) restart(t testing.TB) {
	t.Helper()
	f.stop()
	f.stop = f.start(t, 0)
}

// start starts (or restarts) the signer on f.addr with a new transport
// CA, over f's backend and enrolment key, and returns its stop function.
func (f *signerFixture) start(t testing.TB, validity time.Duration) func() {
	t.Helper()
	var err error
	if f.ca, err = remote.NewTransportCA(f.clock.Now); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f.certs, err = remote.NewCertHolder(ctx, remote.ServerIssuer(f.ca, []string{"127.0.0.1"}, validity), f.clock.Now, nil); err != nil {
		t.Fatal(err)
	}
	srv, err := remote.NewServer(remote.HandlerConfig{Backend: f.backend, Backends: f.others, CA: f.ca, EnrolmentKey: f.enrol,
		ClientValidity: validity, Logger: slog.New(slog.NewTextHandler(f.logs, nil))}, f.certs)
	if err != nil {
		t.Fatal(err)
	}
	srv.ErrorLog = slog.NewLogLogger(slog.New(slog.NewTextHandler(f.logs, nil)).Handler(), slog.LevelWarn)
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	f.addr = ln.Addr().String()
	f.url = "https://" + f.addr
	return func() { _ = srv.Close() }
}

// dial connects a client with the signer's enrolment key.
func (f *signerFixture) dial(t testing.TB) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), remote.ClientConfig{URL: f.url, EnrolmentKey: f.enrol, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// rawPost sends body to op over a TLS client with cert (nil: none) and
// returns the status, or the transport error.
func (f *signerFixture) rawPost(op string, body []byte, cert *tls.Certificate) (int, string, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := hc.Post(f.url+"/v1/"+op, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}
