package signing_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

func marker(what string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "marker-" + what + "-" + hex.EncodeToString(b)
}

// databaseFiles copies the service database (signet.db with its WAL)
// of dir into a directory of its own, for secretscan.Check; blobs/ holds
// the signed documents, whose signer certificates name the recipients
// and whose sealing at rest is the blob store's.
func databaseFiles(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(dir, "signet.db*"))
	if len(names) == 0 {
		t.Fatal("no signet.db")
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(n)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSealedSessions: with keys, a recipient session's e-mail address is
// stored sealed under the recipient's object; the flow works as before,
// the marker addresses and names are nowhere in signet.db, and an address
// copied to another recipient's session does not open there.
func TestSealedSessions(t *testing.T) {
	keys := &atresttest.KeyRing{}
	e := newEnvOptions(t, envOptions{adjust: func(c *signing.Config, wf *workflow.Config) { c.Keys, wf.Keys = keys, keys }})
	a := signer(marker("alice"), marker("alice")+"@example.com", 1)
	b := signer(marker("bob"), marker("bob")+"@example.com", 1)
	e.newEnvelope(1, a, b)
	alice := e.session(a.Email, e.link(a.Email, 1))
	bob := e.session(b.Email, e.link(b.Email, 1))
	var v signing.View
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", alice, nil, &v); st != http.StatusOK || v.Recipient.Email != a.Email {
		t.Fatalf("view: %d %+v %+v", st, p, v.Recipient)
	}
	ctx := context.Background()
	ss, err := e.svc.Session(ctx, sha256.Sum256([]byte(alice)))
	if err != nil || ss.Email != a.Email {
		t.Fatalf("session: %+v, %v", ss, err)
	}
	var stored string
	if err := e.store.DB().QueryRowContext(ctx, "SELECT email FROM signing_sessions WHERE hash = ?", ss.Hash[:]).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, workflow.SealedPrefix) {
		t.Fatalf("stored session address %q is not sealed", stored)
	}
	if res := e.signAs(alice); len(res.Signed) != 1 {
		t.Fatalf("sign: %+v", res)
	}
	secretscan.Check(t, databaseFiles(t, e.dir), a.Email, a.Name, b.Email, b.Name, "Employment contract")

	// Alice's sealed address copied into Bob's session does not open.
	bobHash := sha256.Sum256([]byte(bob))
	if _, err := e.store.DB().ExecContext(ctx, "UPDATE signing_sessions SET email = ? WHERE hash = ?", stored, bobHash[:]); err != nil {
		t.Fatal(err)
	}
	if ss, err := e.svc.Session(ctx, bobHash); err == nil {
		t.Fatalf("bob's session opened with alice's address: %+v", ss)
	}
	// A session stored in clear is refused like a missing one.
	if _, err := e.store.DB().ExecContext(ctx, "UPDATE signing_sessions SET email = ? WHERE hash = ?", b.Email, bobHash[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Session(ctx, bobHash); !errors.Is(err, signing.ErrInvalidSession) {
		t.Fatalf("session in clear: %v, want ErrInvalidSession", err)
	}
}
