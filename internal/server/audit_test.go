package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/auditlog/anchor/witnesstest"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/server"
)

// TestAuditCheckpointsAnchored: what the server does is recorded, and on
// shutdown the log ends with a checkpoint signed by DATA/audit.key, time-
// stamped by the built-in TSA and copied to the write-once directory; the
// whole log verifies against DATA/audit.pub.
func TestAuditCheckpointsAnchored(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	if res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Audited"}); res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	r.stop()

	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	size, err := st.Size(ctx)
	if err != nil || size == 0 {
		t.Fatalf("audit log size %d, %v", size, err)
	}
	cps, err := st.Checkpoints(ctx)
	if err != nil || len(cps) == 0 {
		t.Fatalf("checkpoints: %d, %v", len(cps), err)
	}
	last := cps[len(cps)-1]
	if last.Size != size {
		t.Errorf("last checkpoint covers %d of %d events", last.Size, size)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	// Every checkpoint is copied to the write-once directory; the one
	// published at shutdown before the log closes is also time-stamped.
	stamped := 0
	for _, cp := range cps {
		anchors, err := st.Anchors(ctx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, a := range anchors {
			kinds[a.Kind] = true
		}
		if !kinds[anchor.KindSink] {
			t.Errorf("checkpoint %d has no write-once copy: %v", cp.Size, kinds)
		}
		if kinds[anchor.KindRFC3161] {
			stamped++
		}
	}
	if stamped == 0 {
		t.Errorf("no checkpoint is time-stamped")
	}
	sink := &anchor.FileSink{Dir: filepath.Join(dir, "checkpoints")}
	latest, err := sink.Latest(ctx)
	if err != nil || !bytes.Equal(latest.Note, last.Note) {
		t.Errorf("write-once copy of the last checkpoint: %v", err)
	}
	roots := r.roots()
	checked := 0
	res, err := auditlog.Verify(ctx, st, auditlog.VerifyOptions{Verifier: v, Origin: "signet.local/audit", Reference: &latest,
		CheckAnchor: func(a auditlog.Anchor, cp auditlog.Checkpoint) error {
			if a.Kind != anchor.KindRFC3161 {
				return nil
			}
			checked++
			return anchor.VerifyTimestampAnchor(a, cp, roots)
		}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Size != size || checked == 0 {
		t.Errorf("verified %d events, %d anchors, %d time-stamp anchors checked", res.Size, res.Anchors, checked)
	}
	if err := anchor.VerifySink(ctx, sink, cps); err != nil {
		t.Errorf("write-once copies: %v", err)
	}
}

// TestAuditWitness: a configured C2SP witness receives the checkpoints with
// consistency proofs and its cosignatures are stored as anchors that verify
// with its key.
func TestAuditWitness(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.LoadCheckpointKey(filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub"), "signet.local/audit"); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	_, wkey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := witnesstest.New("witness.test", wkey)
	if err := w.AddLog("signet.local/audit", strings.TrimSpace(string(pub))); err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(w)
	defer ws.Close()
	r := start(t, dir, func(c *server.Config) {
		c.Witnesses = []server.WitnessConfig{{URL: ws.URL, Key: w.VerifierKey()}}
	})
	admin := r.bootstrapKey()
	if res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Witnessed"}); res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	r.stop()

	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	key, err := anchor.ParseCosignerKey(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cosigned := 0
	for _, cp := range cps {
		as, err := st.Anchors(ctx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Kind != anchor.KindWitness {
				continue
			}
			if err := anchor.VerifyCosignatureAnchor(a, cp, key); err != nil {
				t.Errorf("cosignature of checkpoint %d: %v", cp.Size, err)
			}
			cosigned++
		}
	}
	if cosigned != len(cps) || w.Size("signet.local/audit") != cps[len(cps)-1].Size {
		t.Errorf("%d of %d checkpoints cosigned; witness at size %d", cosigned, len(cps), w.Size("signet.local/audit"))
	}
}
