package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/mail/mailtest"
)

// loopbackTLS returns a server config with a fresh self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func loopbackTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mail test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

func TestSend(t *testing.T) {
	srvTLS, cliTLS := loopbackTLS(t)
	_, otherTLS := loopbackTLS(t) // trusts a different certificate
	msg := mail.Message{To: "alice@example.com", Subject: "Your code — Signet", Body: "Your code is 123456.\nIt expires in 10 minutes.\n" + strings.Repeat("long line ", 20)}
	tests := []struct {
		name    string
		server  mailtest.Options
		cfg     func(c *mail.Config)
		msg     mail.Message
		wantErr error // nil: delivered; otherwise errors.Is, or errAny
		wantTLS bool
	}{
		{name: "plain", msg: msg},
		{name: "starttls", server: mailtest.Options{TLSConfig: srvTLS}, cfg: func(c *mail.Config) { c.TLSConfig = cliTLS }, msg: msg, wantTLS: true},
		{name: "starttls and auth", server: mailtest.Options{TLSConfig: srvTLS, Username: "u", Password: "p"},
			cfg: func(c *mail.Config) { c.TLSConfig = cliTLS; c.Username, c.Password = "u", "p" }, msg: msg, wantTLS: true},
		{name: "auth over loopback without TLS", server: mailtest.Options{Username: "u", Password: "p"},
			cfg: func(c *mail.Config) { c.Username, c.Password = "u", "p" }, msg: msg},
		{name: "wrong password", server: mailtest.Options{TLSConfig: srvTLS, Username: "u", Password: "p"},
			cfg: func(c *mail.Config) { c.TLSConfig = cliTLS; c.Username, c.Password = "u", "wrong" }, msg: msg, wantErr: errAny},
		{name: "auth required, none given", server: mailtest.Options{TLSConfig: srvTLS, Username: "u", Password: "p"},
			cfg: func(c *mail.Config) { c.TLSConfig = cliTLS }, msg: msg, wantErr: errAny},
		{name: "require TLS, none offered", cfg: func(c *mail.Config) { c.RequireTLS = true }, msg: msg, wantErr: mail.ErrNoTLS},
		{name: "untrusted server certificate", server: mailtest.Options{TLSConfig: srvTLS}, cfg: func(c *mail.Config) { c.TLSConfig = otherTLS }, msg: msg, wantErr: errAny},
		{name: "header injection in subject", msg: mail.Message{To: "alice@example.com", Subject: "hi\r\nBcc: eve@example.com", Body: "x"}, wantErr: mail.ErrInvalidMessage},
		{name: "display name in recipient", msg: mail.Message{To: "Alice <alice@example.com>", Subject: "s", Body: "x"}, wantErr: mail.ErrInvalidMessage},
		{name: "not an address", msg: mail.Message{To: "alice", Subject: "s", Body: "x"}, wantErr: mail.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := mailtest.New(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cfg := mail.Config{Host: srv.Host(), Port: srv.Port(), From: "signet@example.org", FromName: "Signet Ünïcode", Timeout: 5 * time.Second}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			m, err := mail.NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(context.Background(), tt.msg)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Send succeeded, want error")
				}
				if tt.wantErr != errAny && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Send error %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "123456") {
					t.Errorf("error %q reveals the body", err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Fatalf("%d messages captured after a failed send", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.To(tt.msg.To)
			if len(got) != 1 {
				t.Fatalf("captured %d messages to %s, want 1", len(got), tt.msg.To)
			}
			g := got[0]
			if g.Subject != tt.msg.Subject {
				t.Errorf("subject %q, want %q", g.Subject, tt.msg.Subject)
			}
			if strings.TrimRight(g.Body, "\n") != strings.TrimRight(tt.msg.Body, "\n") {
				t.Errorf("body %q, want %q", g.Body, tt.msg.Body)
			}
			if g.From != "signet@example.org" {
				t.Errorf("envelope sender %q", g.From)
			}
			if g.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", g.TLS, tt.wantTLS)
			}
			if g.Header.Get("Message-Id") == "" || g.Header.Get("Date") == "" {
				t.Errorf("missing Message-ID or Date header: %v", g.Header)
			}
		})
	}
}

// errAny stands for "some error" in the table.
var errAny = errors.New("any error")

func TestSendContextCanceled(t *testing.T) {
	// A listener that accepts and never greets: Send must give up when the
	// context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	m, err := mail.NewSMTP(mail.Config{Host: "127.0.0.1", Port: port, From: "signet@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := m.Send(ctx, mail.Message{To: "a@example.com", Subject: "s", Body: "b"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  mail.Config
		ok   bool
	}{
		{"ok", mail.Config{Host: "smtp.example.org", From: "a@example.org"}, true},
		{"no host", mail.Config{From: "a@example.org"}, false},
		{"bad port", mail.Config{Host: "h", Port: 70000, From: "a@example.org"}, false},
		{"bad from", mail.Config{Host: "h", From: "Signet <a@example.org>"}, false},
		{"name injection", mail.Config{Host: "h", From: "a@example.org", FromName: "x\nBcc: y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewSMTP(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewSMTP error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestWait(t *testing.T) {
	srv, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	m, err := mail.NewSMTP(mail.Config{Host: srv.Host(), Port: srv.Port(), From: "signet@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 3; i++ {
			_ = m.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "n", Body: "b"})
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := srv.Wait(ctx, "BOB@example.com", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Wait returned %d messages, want 3", len(got))
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := srv.Wait(short, "bob@example.com", 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait for a 4th message = %v, want deadline exceeded", err)
	}
}
