package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pgtest"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// TestMain runs the tests beside a throwaway PostgreSQL server (for the
// deployments on PostgreSQL) and removes the signet binary built for them.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// signetBinary builds the signet command once for the tests that run it
// as a process.
func signetBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "signet-bin-"); binErr != nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "signet"), ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "signet")
}

// processEnv is the test process's environment without SIGNET_MASTER_KEY,
// plus extra.
func processEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGNET_MASTER_KEY=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveProc is a `signet serve` process that has started.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
	data   string
	addr   string
	key    string // the bootstrap key, on a first start
	client *http.Client
}

// startServe runs `signet serve --data data --listen addr ARGS` with env
// and waits until its HTTPS API answers.
func startServe(t *testing.T, env []string, data, addr string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(signetBinary(t), append([]string{"serve", "--data", data, "--listen", addr}, args...)...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1), data: data, addr: addr}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.TrimSpace(sc.Text()); strings.HasPrefix(f, "sk_") {
				keyc <- f
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case p.key = <-keyc:
			continue
		case err := <-p.done:
			t.Fatalf("signet serve exited before answering: %v\n%s", err, p.stderr.String())
		default:
		}
		if p.client == nil {
			if b, err := os.ReadFile(filepath.Join(data, "pki", "root.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(b) {
					p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				}
			}
		}
		if p.client != nil {
			if res, err := p.client.Get("https://" + addr + "/healthz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("signet serve does not answer on %s\n%s", addr, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case p.key = <-keyc:
	case <-time.After(100 * time.Millisecond):
	}
	return p
}

// stop sends SIGTERM and checks for a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("no exit after SIGTERM")
	}
}

// get requests path with the API key secret and returns the status.
func (p *serveProc) get(path, secret string) int {
	p.t.Helper()
	req, _ := http.NewRequest("GET", "https://"+p.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// runServeFailing runs `signet serve ARGS` expecting it to fail at start,
// and checks what every start-up failure must look like: a non-zero exit,
// nothing on stdout, and exactly one line on stderr, "signet: ...",
// naming no panic or goroutine.
func runServeFailing(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, signetBinary(t), append([]string{"serve"}, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
		t.Fatalf("signet serve %q: %v, want a non-zero exit\nstdout: %s\nstderr: %s", args, err, stdout.String(), stderr.String())
	}
	out := stderr.String()
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q, want nothing (no bootstrap key from a failed start)", stdout.String())
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || !strings.HasPrefix(out, "signet: ") {
		t.Errorf("stderr is not one line \"signet: ...\":\n%s", out)
	}
	for _, bad := range []string{"panic", "goroutine", "nil pointer"} {
		if strings.Contains(out, bad) {
			t.Errorf("stderr mentions %q:\n%s", bad, out)
		}
	}
	return out
}

// busyAddr returns an address that a listener of the test holds.
func busyAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestServeStartFailures runs `signet serve` into each way its start can
// fail and checks that each ends in one line that names what failed, a
// non-zero exit and no panic.
func TestServeStartFailures(t *testing.T) {
	busy := busyAddr(t)
	for _, tc := range []struct {
		name string
		// setup prepares the temporary directory dir and returns the
		// arguments after "serve" and the texts the error line must hold.
		setup func(t *testing.T, dir string) (args, want []string)
	}{
		{"busy listen", func(t *testing.T, dir string) ([]string, []string) {
			return []string{"--data", filepath.Join(dir, "data"), "--listen", busy, "--pki-listen", "127.0.0.1:0"},
				[]string{"listen " + busy + ": address already in use"}
		}},
		{"busy pki_listen flag", func(t *testing.T, dir string) ([]string, []string) {
			return []string{"--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--pki-listen", busy},
				[]string{"pki_listen " + busy + ": address already in use"}
		}},
		{"busy pki_listen in the configuration", func(t *testing.T, dir string) ([]string, []string) {
			cfg := writeFile(t, dir, "signet.json", `{"pki_listen":"`+busy+`","listen":"127.0.0.1:0"}`)
			return []string{"--data", filepath.Join(dir, "data"), "--config", cfg},
				[]string{"pki_listen " + busy + ": address already in use"}
		}},
		{"data directory is a file", func(t *testing.T, dir string) ([]string, []string) {
			data := writeFile(t, dir, "data", "not a directory")
			return []string{"--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0"},
				[]string{"data directory", data, "not a directory"}
		}},
		{"blobs directory is a file", func(t *testing.T, dir string) ([]string, []string) {
			data := filepath.Join(dir, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			blobs := writeFile(t, data, "blobs", "not a directory")
			return []string{"--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0"},
				[]string{blobs, "not a directory"}
		}},
		{"service database is not a database", func(t *testing.T, dir string) ([]string, []string) {
			data := filepath.Join(dir, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			db := writeFile(t, data, "signet.db", strings.Repeat("not a database ", 100))
			return []string{"--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0"},
				[]string{db, "not a database"}
		}},
		{"PKI database is not a database (after the listeners)", func(t *testing.T, dir string) ([]string, []string) {
			data := filepath.Join(dir, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			db := writeFile(t, data, "pki.db", strings.Repeat("not a database ", 100))
			return []string{"--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0"},
				[]string{db, "not a database"}
		}},
		{"master key file too open", func(t *testing.T, dir string) ([]string, []string) {
			data := filepath.Join(dir, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			mk := writeFile(t, data, "master.key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
			if err := os.Chmod(mk, 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0"},
				[]string{mk, "0644"}
		}},
		{"missing tsa_roots_file", func(t *testing.T, dir string) ([]string, []string) {
			roots := filepath.Join(dir, "missing-roots.pem")
			cfg := writeFile(t, dir, "signet.json", `{"tsa_urls":["http://127.0.0.1:1/tsa"],"tsa_roots_file":"`+roots+`"}`)
			return []string{"--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0", "--config", cfg},
				[]string{"tsa_roots_file", roots, "no such file"}
		}},
		{"missing tls_cert_file", func(t *testing.T, dir string) ([]string, []string) {
			cert := filepath.Join(dir, "missing-cert.pem")
			cfg := writeFile(t, dir, "signet.json", `{"tls_cert_file":"`+cert+`","tls_key_file":"`+cert+`"}`)
			return []string{"--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0", "--config", cfg},
				[]string{"tls_cert_file", cert}
		}},
		{"configuration with several errors", func(t *testing.T, dir string) ([]string, []string) {
			cfg := writeFile(t, dir, "signet.json", `{"tls_min_version":"1.0","max_upload_size":1}`)
			return []string{"--data", filepath.Join(dir, "data"), "--config", cfg},
				[]string{"tls_min_version", "max_upload_size"}
		}},
		{"configuration with an unknown field", func(t *testing.T, dir string) ([]string, []string) {
			cfg := writeFile(t, dir, "signet.json", `{"listen_address":"127.0.0.1:1"}`)
			return []string{"--data", filepath.Join(dir, "data"), "--config", cfg},
				[]string{"listen_address"}
		}},
		{"missing configuration file", func(t *testing.T, dir string) ([]string, []string) {
			cfg := filepath.Join(dir, "missing.json")
			return []string{"--data", filepath.Join(dir, "data"), "--config", cfg}, []string{cfg}
		}},
		{"bad listen flag", func(t *testing.T, dir string) ([]string, []string) {
			return []string{"--data", filepath.Join(dir, "data"), "--listen", "no-port"}, []string{"listen", "no-port"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, want := tc.setup(t, t.TempDir())
			line := runServeFailing(t, processEnv(), args...)
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("error line %q does not name %q", line, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeMasterKeyFromEnvironment moves a data directory's master key
// from DATA/master.key into SIGNET_MASTER_KEY: the server and a key
// command then take it from there and write no key file; the key in both
// places with different values, or in neither, is one clear error.
func TestServeMasterKeyFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mkPath := filepath.Join(data, "master.key")
	p := startServe(t, processEnv(), data, freeAddr(t), "--pki-listen", freeAddr(t))
	admin := p.key
	if admin == "" {
		t.Fatal("no bootstrap key printed")
	}
	p.stop()
	mk, err := os.ReadFile(mkPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(mkPath); err != nil {
		t.Fatal(err)
	}
	withKey := processEnv("SIGNET_MASTER_KEY=" + strings.TrimSpace(string(mk)))

	// The server, with the key in the environment only.
	pki := freeAddr(t)
	p = startServe(t, withKey, data, freeAddr(t), "--pki-listen", pki)
	if code := p.get("/v1/tenants", admin); code != 200 {
		t.Fatalf("GET /v1/tenants: %d", code)
	}
	p.stop()
	if _, err := os.Stat(mkPath); err == nil {
		t.Fatal("signet serve wrote master.key although SIGNET_MASTER_KEY is set")
	}

	// A key command, the same way.
	t.Setenv("SIGNET_MASTER_KEY", strings.TrimSpace(string(mk)))
	if code, out, errb := signetRun(t, "keys", "list", "--data", data); code != 0 || !strings.Contains(out, "audit-checkpoint") {
		t.Fatalf("keys list with SIGNET_MASTER_KEY: exit %d\n%s%s", code, out, errb)
	}
	if _, err := os.Stat(mkPath); err == nil {
		t.Fatal("signet keys wrote master.key although SIGNET_MASTER_KEY is set")
	}

	// Neither: refused, and no new key is made up.
	os.Unsetenv("SIGNET_MASTER_KEY")
	line := runServeFailing(t, processEnv(), "--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0")
	if !strings.Contains(line, "no master key") || !strings.Contains(line, "SIGNET_MASTER_KEY") {
		t.Errorf("start without the master key: %q", line)
	}
	if code, _, errb := signetRun(t, "keys", "list", "--data", data); code == 0 || !strings.Contains(errb, "no master key") {
		t.Errorf("keys list without the master key: exit %d, %q", code, errb)
	}
	if _, err := os.Stat(mkPath); err == nil {
		t.Fatal("a start without the master key wrote a new master.key")
	}

	// Both, different: refused.
	if err := os.WriteFile(mkPath, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	line = runServeFailing(t, withKey, "--data", data, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0")
	if !strings.Contains(line, "SIGNET_MASTER_KEY and the master key file hold different keys") {
		t.Errorf("start with two master keys: %q", line)
	}
}

// TestServeSideBySide runs two servers on one machine configured by flags
// alone: each answers on its own addresses from its own data directory.
func TestServeSideBySide(t *testing.T) {
	dir := t.TempDir()
	type node struct {
		p   *serveProc
		pki string
	}
	var nodes []node
	for _, name := range []string{"a", "b"} {
		pki := freeAddr(t)
		p := startServe(t, processEnv(), filepath.Join(dir, name), freeAddr(t), "--pki-listen", pki)
		if p.key == "" {
			t.Fatalf("server %s printed no bootstrap key", name)
		}
		nodes = append(nodes, node{p, pki})
	}
	for i, n := range nodes {
		other := nodes[1-i]
		if code := n.p.get("/v1/tenants", n.p.key); code != 200 {
			t.Errorf("server %d with its own key: %d", i, code)
		}
		if code := n.p.get("/v1/tenants", other.p.key); code != 401 {
			t.Errorf("server %d with the other server's key: %d, want 401", i, code)
		}
		// Its PKI listener serves its own root.
		res, err := http.Get("http://" + n.pki + "/ca/root.crt")
		if err != nil {
			t.Fatal(err)
		}
		der, _ := io.ReadAll(res.Body)
		res.Body.Close()
		b, err := os.ReadFile(filepath.Join(n.p.data, "pki", "root.pem"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if res.StatusCode != 200 || blk == nil || !bytes.Equal(der, blk.Bytes) {
			t.Errorf("server %d: GET %s/ca/root.crt: %d, not its root", i, n.pki, res.StatusCode)
		}
	}
	for _, n := range nodes {
		n.p.stop()
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
