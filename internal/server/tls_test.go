package server_test

import (
	"crypto/tls"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
