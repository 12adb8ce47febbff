package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeDir is where `make test` installs the npm standardwebhooks package
// (SIGNET_NODE_DIR, else ~/.cache/signet-node).
func nodeDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SIGNET_NODE_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no home directory: %v (run make test)", err)
		}
		dir = filepath.Join(home, ".cache", "signet-node")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run make test")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		t.Fatalf("npm standardwebhooks is not installed in %s: run make test", dir)
	}
	return dir
}

// RunNode runs testdata/verify.js with req and decodes its answer.
func runNode(t *testing.T, dir string, req any) map[string]any {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/verify.js")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v: %s", err, stderr.String())
	}
	var ans map[string]any
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("node answer %q: %v", out, err)
	}
	if e, ok := ans["error"]; ok {
		t.Fatalf("node: %v", e)
	}
	return ans
}

// TestIndependentVerifier checks our signatures with the specification
// authors' implementation, and theirs with our Verify.
func TestIndependentVerifier(t *testing.T) {
	dir := nodeDir(t)
	sec, _ := NewSecret()
	old, _ := NewSecret()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"envelope.completed","timestamp":"2026-01-01T00:00:00Z","data":{"envelope_id":"env_1"}}`)
	now := time.Now()
	h := Signer{Secrets: []Secret{sec, old}, Key: priv}.Headers("msg_abc", now, body)
	headers := map[string]string{HeaderID: h.Get(HeaderID), HeaderTimestamp: h.Get(HeaderTimestamp), HeaderSignature: h.Get(HeaderSignature)}
	for name, s := range map[string]Secret{"current": sec, "previous": old} {
		ans := runNode(t, dir, map[string]any{"op": "verify", "secret": s.String(), "publicKey": PublicKeyString(pub), "payload": string(body), "headers": headers})
		if ans["v1"] != true || ans["v1a"] != true {
			t.Errorf("%s secret: node verifier says %v", name, ans)
		}
	}
	other, _ := NewSecret()
	ans := runNode(t, dir, map[string]any{"op": "verify", "secret": other.String(), "payload": string(body), "headers": headers})
	if ans["v1"] != false {
		t.Errorf("node verifier accepted a wrong secret: %v", ans)
	}
	ans = runNode(t, dir, map[string]any{"op": "verify", "secret": sec.String(), "payload": string(body) + " ", "headers": headers})
	if ans["v1"] != false {
		t.Errorf("node verifier accepted a changed body: %v", ans)
	}

	ans = runNode(t, dir, map[string]any{"op": "sign", "secret": sec.String(), "id": "msg_n", "timestamp": now.Unix(), "payload": string(body)})
	sig, _ := ans["signature"].(string)
	if want := SignV1(sec, "msg_n", now, body); sig != want {
		t.Errorf("node signs %q, we sign %q", sig, want)
	}
}
