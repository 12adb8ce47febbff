package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeCommand runs `signet serve` as a process: first start prints
// the bootstrap key on stdout only, the API answers over HTTPS trusted via
// DATA/pki/root.pem, and SIGTERM stops it cleanly.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	bin := signetBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "signet.json")
	if err := os.WriteFile(cfg, []byte(`{"pki_listen":"127.0.0.1:0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--config", cfg)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.TrimSpace(sc.Text()); strings.HasPrefix(f, "sk_") {
				keyc <- f
			}
		}
	}()
	var key string
	select {
	case key = <-keyc:
	case <-time.After(30 * time.Second):
		t.Fatalf("no bootstrap key printed; stderr:\n%s", stderr.String())
	}
	pem, err := os.ReadFile(filepath.Join(data, "pki", "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	var res *http.Response
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest("GET", "https://"+addr+"/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if res, err = client.Do(req); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /v1/tenants: %d", res.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if strings.Contains(stderr.String(), key) {
		t.Fatal("the bootstrap key reached the log")
	}
	// What the server did verifies offline: the tree, the checkpoints, their
	// RFC 3161 anchors (against pki/root.pem) and write-once copies.
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--data", data}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "audit log OK") {
		t.Fatalf("audit verify --data: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
