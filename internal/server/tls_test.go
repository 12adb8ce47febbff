package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/server"
)

func TestTLSVersions(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required (make test installs it)")
	}
	tests := []struct {
		name      string
		min       string
		tls12OK   bool
		tls13OK   bool
		openssl   string
		sslAccept bool
	}{
		{"default refuses TLS 1.2", "", false, true, "-tls1_2", false},
		{"default accepts TLS 1.3", "", false, true, "-tls1_3", true},
		{"explicit 1.2", "1.2", true, true, "-tls1_2", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			r := start(t, dir, func(c *server.Config) { c.TLSMinVersion = tc.min })
			for _, v := range []struct {
				version uint16
				ok      bool
			}{{tls.VersionTLS12, tc.tls12OK}, {tls.VersionTLS13, tc.tls13OK}} {
				conn, err := tls.Dial("tcp", r.srv.Addr().String(), &tls.Config{
					RootCAs: r.roots(), ServerName: "127.0.0.1", MinVersion: v.version, MaxVersion: v.version,
				})
				if err == nil {
					conn.Close()
				}
				if (err == nil) != v.ok {
					t.Errorf("TLS %x: err=%v, want ok=%v", v.version, err, v.ok)
				}
			}
			cmd := exec.Command("openssl", "s_client", "-connect", r.srv.Addr().String(), tc.openssl,
				"-CAfile", filepath.Join(dir, "pki", "root.pem"), "-verify_return_error", "-servername", "localhost")
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.sslAccept {
				t.Errorf("openssl s_client %s: err=%v, want accepted=%v\n%s", tc.openssl, err, tc.sslAccept, out)
			}
			if tc.sslAccept && !strings.Contains(string(out), "Verify return code: 0 (ok)") {
				t.Errorf("openssl did not verify the chain against root.pem:\n%s", out)
			}
		})
	}
}

// TestTLSHandshakesAuditBounded: anyone may open TLS connections to the
// HTTPS listener, without credentials, and each full handshake signs with
// the server's TLS key. A flood of handshakes must add key.used events per
// interval, not one per handshake (every use still covered by one).
func TestTLSHandshakesAuditBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	const handshakes = 40
	for range handshakes {
		conn, err := tls.Dial("tcp", r.srv.Addr().String(), &tls.Config{RootCAs: r.roots(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	r.stop()

	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	size, err := st.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.Records(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, rec := range recs {
		if rec.Type == "key.used" && bytes.Contains(rec.Leaf, []byte(`"tls"`)) {
			events++
		}
	}
	if events == 0 || events > handshakes/4 {
		t.Errorf("%d TLS handshakes recorded as %d key.used events of the TLS key, want 1 to %d", handshakes, events, handshakes/4)
	}
}
