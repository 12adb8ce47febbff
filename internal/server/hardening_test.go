package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestNewFailureClosesWhatItOpened fails a start after the listeners are
// bound and the databases opened: New returns the error (no panic), both
// addresses are free again, and the next start over the same directory
// succeeds and prints the bootstrap key that the failed one never showed.
func TestNewFailureClosesWhatItOpened(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "pki.db")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, pkiListen := freeAddr(t), freeAddr(t)
	var terminal bytes.Buffer
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Listen: listen, PKIListen: pkiListen}, server.WithTerminal(&terminal))
	if err == nil || srv != nil {
		t.Fatalf("New over a damaged pki.db: %v, %v", srv, err)
	}
	if !strings.Contains(err.Error(), bad) {
		t.Errorf("error %q does not name %s", err, bad)
	}
	if terminal.Len() != 0 {
		t.Errorf("a failed start printed %q", terminal.String())
	}
	for _, a := range []string{listen, pkiListen} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s still bound after the failed start: %v", a, err)
		}
		ln.Close()
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	r := start(t, dir, func(c *server.Config) { c.Listen, c.PKIListen = listen, pkiListen })
	r.bootstrapKey()
}

var slogDiscard = slog.New(slog.DiscardHandler)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tenantKey creates a tenant and returns a service account key of it
// (role sender) bound to actions.
func (r *running) tenantKey(actions ...string) string {
	r.t.Helper()
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"})
	if res.status != http.StatusCreated {
		r.t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tenant accounts.Tenant
	if err := json.Unmarshal(res.body, &tenant); err != nil {
		r.t.Fatal(err)
	}
	res = r.do("POST", "/v1/tenants/"+tenant.ID+"/api-keys", admin, map[string]any{"name": "test", "roles": []string{"sender"}, "actions": actions})
	if res.status != http.StatusCreated {
		r.t.Fatalf("create key: %d %s", res.status, res.body)
	}
	var created struct{ Secret string }
	if err := json.Unmarshal(res.body, &created); err != nil {
		r.t.Fatal(err)
	}
	return created.Secret
}

// TestOrphanedBlobsCollected checks that the running server deletes a
// blob that nothing references once it is older than the grace period,
// keeps an uploaded document's blob, and logs the deletion by name only.
func TestOrphanedBlobsCollected(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, func(c *server.Config) { c.BlobGCInterval = server.Duration(time.Second) })
	key := r.tenantKey("document.upload")
	r.uploadSample(key, "Kept")
	// The uploaded document's content, sealed: the one blob so far.
	keptBlob := onlyBlob(t, filepath.Join(dir, "blobs"))
	// An orphan, as a request that failed after writing its blob leaves.
	const content = "%PDF-1.7 orphan of a failed request"
	bs, err := blob.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := bs.Put(context.Background(), strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	blobPath := func(name string) string { return filepath.Join(dir, "blobs", name[:2], name[2:]) }
	// Within the grace period (one hour by default) both stay.
	time.Sleep(2 * time.Second) // at least one collection
	if _, err := os.Stat(blobPath(orphan)); err != nil {
		t.Fatalf("a fresh blob was collected: %v", err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{orphan, keptBlob} {
		if err := os.Chtimes(blobPath(name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	deleted := `"msg":"orphaned blob deleted","blob":"` + orphan + `"`
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The deletion is logged once the file is gone: wait for both.
		if _, err := os.Stat(blobPath(orphan)); errors.Is(err, os.ErrNotExist) && strings.Contains(r.logs.String(), deleted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphaned blob was not collected")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(blobPath(keptBlob)); err != nil {
		t.Fatalf("the document's blob was collected: %v", err)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, deleted) {
		t.Errorf("no log of the deleted blob:\n%s", logs)
	}
	if strings.Contains(logs, `"blob":"`+keptBlob) {
		t.Error("the kept blob is logged as deleted")
	}
	if strings.Contains(logs, "orphan of a failed request") {
		t.Error("blob content reached the log")
	}
}

// slowBodyConfig makes request bodies time out fast: each read within a
// second, and 256 bytes per second on average after the first second.
func slowBodyConfig(c *server.Config) {
	c.BodyReadTimeout = server.Duration(time.Second)
	c.BodyMinRate = 256
}

// TestSlowRequestBodyCutOff sends a request's headers and then its body
// one byte at a time over a raw TLS connection (HTTP/1.1): the server
// answers 408 and closes the connection instead of waiting for it.
func TestSlowRequestBodyCutOff(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), slowBodyConfig)
	admin := r.bootstrapKey()
	conn, err := tls.Dial("tcp", r.srv.Addr().String(), &tls.Config{RootCAs: r.roots(), NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /v1/tenants HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + admin +
		"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"name\":\"slow"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("w")); err != nil {
				return
			}
		}
	}()
	// Without a bound the server would wait for all 100000 bytes, some
	// eight hours at this rate.
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != api.ContentTypeProblem || !strings.Contains(string(body), "request-timeout") {
		t.Fatalf("trickled body: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection still open after the 408: %v", err)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "request body arrived too slowly") {
		t.Errorf("the cut-off is not logged:\n%s", logs)
	}
	// The access log records the answer the client got.
	if !accessLogged(t, r.logs.String(), "POST", "/v1/tenants", http.StatusRequestTimeout) {
		t.Errorf("no access log line for POST /v1/tenants with status 408:\n%s", r.logs.String())
	}
	if res := r.do("GET", "/v1/tenants", admin, nil); res.status != 200 || strings.Contains(string(res.body), "slow") {
		t.Fatalf("after the cut-off: %d %s", res.status, res.body)
	}
}

// slowReader yields its data in chunks with a pause before each.
type slowReader struct {
	data  []byte
	chunk int
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestSlowRequestBodyHTTP2 checks the same bound over HTTP/2, where it
// applies to the stream: a trickled body is answered 408, and a body
// slower than one read timeout in all but above the minimum rate goes
// through.
func TestSlowRequestBodyHTTP2(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), slowBodyConfig)
	admin := r.bootstrapKey()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots()}, ForceAttemptHTTP2: true}}
	post := func(body io.Reader, size int64) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", r.base+"/v1/tenants", body)
		req.ContentLength = size
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, b
	}
	trickle := &slowReader{data: []byte(`{"name":"slow` + strings.Repeat("w", 1000) + `"}`), chunk: 1, pause: 300 * time.Millisecond}
	res, body := post(trickle, int64(len(trickle.data)))
	if res.ProtoMajor != 2 || res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "request-timeout") {
		t.Fatalf("trickled body over HTTP/%d: %d %s", res.ProtoMajor, res.StatusCode, body)
	}
	// 2 KiB in 256-byte chunks every 200 ms: longer than one read
	// timeout in all, five times the minimum rate.
	payload := []byte(`{"name":"patient"}` + strings.Repeat(" ", 2048-18))
	res, body = post(&slowReader{data: payload, chunk: 256, pause: 200 * time.Millisecond}, int64(len(payload)))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("slow but steady body: %d %s", res.StatusCode, body)
	}
}

// TestNewFailures makes each step of New fail in turn and checks that New
// returns an error naming what failed (no panic), prints no bootstrap key
// and leaves both addresses free.
func TestNewFailures(t *testing.T) {
	mkdir := func(t *testing.T, p string) {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	file := func(t *testing.T, p, content string, mode os.FileMode) {
		mkdir(t, filepath.Dir(p))
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	garbage := strings.Repeat("not a database ", 100)
	busy := freeAddr(t)
	held, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string, cfg *server.Config) []server.Option
		want    string // a relative path is joined to the data directory
	}{
		{"data directory is a file", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, dir, "x", 0o600)
			return nil
		}, "."},
		{"busy listen", func(t *testing.T, dir string, c *server.Config) []server.Option {
			c.Listen = busy
			return nil
		}, "listen " + busy + ": address already in use"},
		{"busy pki_listen", func(t *testing.T, dir string, c *server.Config) []server.Option {
			c.PKIListen = busy
			return nil
		}, "pki_listen " + busy + ": address already in use"},
		{"service database", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "signet.db"), garbage, 0o600)
			return nil
		}, "signet.db"},
		{"checkpoints is a file", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "checkpoints"), "x", 0o600)
			return nil
		}, "checkpoints"},
		{"audit secret too open", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "audit.master"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o644)
			return nil
		}, "audit.master"},
		{"audit database", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "audit.db"), garbage, 0o600)
			return nil
		}, "audit.db"},
		{"master key file too open", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "master.key"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o644)
			return nil
		}, "master.key"},
		{"master key in the environment and another in the file", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "master.key"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o600)
			return []server.Option{server.WithMasterKey("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")}
		}, "SIGNET_MASTER_KEY and the master key file hold different keys"},
		{"keys sealed under a master key that is nowhere", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "keys", "master.check"), "0000\n", 0o600)
			return nil
		}, "no master key"},
		{"wrong master key", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "keys", "master.check"), "0000\n", 0o600)
			return []server.Option{server.WithMasterKey("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")}
		}, "master key does not match"},
		{"keys is a file", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "keys"), "x", 0o600)
			return nil
		}, "keys"},
		{"key database", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "keys.db"), garbage, 0o600)
			return nil
		}, "keys.db"},
		{"PKI database", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			file(t, filepath.Join(dir, "pki.db"), garbage, 0o600)
			return nil
		}, "pki.db"},
		{"root certificate path is a directory", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			mkdir(t, filepath.Join(dir, "pki", "root.pem"))
			return nil
		}, "pki/root.pem"},
		{"missing tsa_roots_file", func(t *testing.T, dir string, c *server.Config) []server.Option {
			c.TSAURLs, c.TSARootsFile = []string{"http://127.0.0.1:1/tsa"}, filepath.Join(dir, "missing.pem")
			return nil
		}, "tsa_roots_file"},
		{"missing tls_cert_file", func(t *testing.T, dir string, c *server.Config) []server.Option {
			c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing.key")
			return nil
		}, "missing.pem"},
		{"bad OpenAPI fragment of extra routes", func(t *testing.T, dir string, _ *server.Config) []server.Option {
			return []server.Option{server.WithRoutes(func(api.Mux) {}, []byte("{not json"))}
		}, "openapi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cfg := server.Config{DataDir: dir, Listen: freeAddr(t), PKIListen: freeAddr(t)}
			var terminal bytes.Buffer
			opts := append([]server.Option{server.WithTerminal(&terminal), server.WithLogger(slogDiscard)}, tc.prepare(t, dir, &cfg)...)
			srv, err := server.New(context.Background(), cfg, opts...)
			if err == nil || srv != nil {
				t.Fatalf("New: %v, %v; want an error", srv, err)
			}
			want := tc.want
			if !strings.Contains(want, " ") && !strings.HasPrefix(want, "openapi") && !strings.HasPrefix(want, "tsa_") {
				want = filepath.Join(dir, want)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
				t.Errorf("error %q does not name %q", err, want)
			}
			if terminal.Len() != 0 {
				t.Errorf("a failed start printed %q", terminal.String())
			}
			for _, a := range []string{cfg.Listen, cfg.PKIListen} {
				if a == busy {
					continue
				}
				ln, err := net.Listen("tcp", a)
				if err != nil {
					t.Fatalf("%s still bound after the failed start: %v", a, err)
				}
				ln.Close()
			}
		})
	}
}

// accessLogged reports whether the JSON log lines in logs hold an access
// log line for method and path with status.
func accessLogged(t *testing.T, logs, method, path string, status int) bool {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg, Method, Path string
			Status            int
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Method == method && l.Path == path && l.Status == status {
			return true
		}
	}
	return false
}

// TestSecondServerOnOneDataDirectory: a second server on the data
// directory of a running one is refused at start with an error that says
// the directory is in use, and leaves the first serving; once the first
// has stopped, the directory opens again.
func TestSecondServerOnOneDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	listen, pkiListen := freeAddr(t), freeAddr(t)
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Listen: listen, PKIListen: pkiListen})
	if err == nil || srv != nil {
		t.Fatalf("a second server started on %s (error %v)", dir, err)
	}
	if !errors.Is(err, datadir.ErrInUse) || !strings.Contains(err.Error(), filepath.Join(dir, datadir.WriterLock)) {
		t.Errorf("second server: %v; want ErrInUse naming the lock", err)
	}
	for _, a := range []string{listen, pkiListen} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s still bound after the refused start: %v", a, err)
		}
		ln.Close()
	}
	if res := r.do("GET", "/v1/tenants", admin, nil); res.status != http.StatusOK {
		t.Fatalf("first server after the refused start: %d %s", res.status, res.body)
	}
}

// TestShutdownLogsNoAnchoringFailure: the last checkpoint of a shutdown is
// signed after the audit log has closed, when the built-in TSA cannot
// record a key use; it is not sent to the TSA (the next start's first
// checkpoint carries the time-stamp), so a clean shutdown logs no error.
func TestShutdownLogsNoAnchoringFailure(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	admin := r.bootstrapKey()
	if res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"}); res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	r.stop()
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("shutdown logged an error: %s", line)
		}
	}
}

// uploadSample uploads a one-page sample PDF titled title with the API key
// secret and returns the document and its bytes.
func (r *running) uploadSample(secret, title string) (workflow.Document, []byte) {
	r.t.Helper()
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 1, Title: title}); err != nil {
		r.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", r.base+"/v1/documents?name=sample.pdf", bytes.NewReader(doc.Bytes()))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/pdf")
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		r.t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	var d workflow.Document
	if err := json.Unmarshal(body, &d); err != nil {
		r.t.Fatal(err)
	}
	return d, doc.Bytes()
}

// onlyBlob returns the name of the one blob stored under dir (a blob.FS).
func onlyBlob(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "tmp" {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, strings.ReplaceAll(rel, string(filepath.Separator), ""))
		return nil
	})
	if err != nil || len(names) != 1 {
		t.Fatalf("blobs %v, %v; want one", names, err)
	}
	return names[0]
}
