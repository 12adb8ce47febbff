package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// newTenant creates a tenant as the platform administrator and returns
// its id and a sender key of it.
func (r *running) newTenant(admin, name string) (string, string) {
	r.t.Helper()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": name})
	var tn struct{ ID string }
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		r.t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	res = r.do("POST", "/v1/tenants/"+tn.ID+"/api-keys", admin, map[string]any{"name": "sender", "roles": []string{"sender"}})
	var key struct{ Secret string }
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &key) != nil {
		r.t.Fatalf("create key: %d %s", res.status, res.body)
	}
	return tn.ID, key.Secret
}

// TestTenantDeletionShredsItsData: deleting a tenant destroys every
// version of its key-encryption key in custody, so its documents'
// ciphertexts, still on disk, and its sealed fields can no longer be
// opened, while another tenant's data is untouched and the audit log,
// which names hashes and never content, still verifies from end to end.
func TestTenantDeletionShredsItsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	gone, goneKey := r.newTenant(admin, "Leaving")
	kept, keptKey := r.newTenant(admin, "Staying")
	goneEnv, goneDoc, _ := r.markedEnvelope(goneKey)
	keptEnv, _, keptMarkers := r.markedEnvelope(keptKey)
	d := r.do("GET", "/v1/documents/"+goneDoc, goneKey, nil)
	var doc workflow.Document
	if d.status != http.StatusOK || json.Unmarshal(d.body, &doc) != nil {
		t.Fatalf("document: %d %s", d.status, d.body)
	}

	if res := r.do("DELETE", "/v1/tenants/"+gone, admin, nil); res.status != http.StatusNoContent {
		t.Fatalf("delete tenant: %d %s", res.status, res.body)
	}
	if res := r.do("GET", "/v1/envelopes/"+goneEnv, goneKey, nil); res.status != http.StatusUnauthorized {
		t.Errorf("the deleted tenant's key still reads: %d %s", res.status, res.body)
	}
	res := r.do("GET", "/v1/envelopes/"+keptEnv, keptKey, nil)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), keptMarkers[1]) {
		t.Errorf("the other tenant's envelope: %d %s", res.status, res.body)
	}
	r.stop()

	ctx := context.Background()
	dd, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	m, err := dd.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := m.List(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	keks := 0
	for _, k := range ks {
		if k.Purpose != keys.PurposeDataKeyWrapping {
			continue
		}
		keks++
		for _, v := range k.Versions {
			if v.State != keys.StateDestroyed {
				t.Errorf("KEK %s/v%d of the deleted tenant is %s", k.ID, v.Number, v.State)
			}
		}
	}
	if keks == 0 {
		t.Fatal("the deleted tenant had no KEK: nothing was sealed under its keys")
	}
	ring, err := dd.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []string{workflow.ContentObject(doc.SHA256), workflow.EnvelopeObject(goneEnv), workflow.DocumentObject(goneDoc)} {
		if _, err := ring.ObjectKEK(ctx, gone, obj, false); !errors.Is(err, atrest.ErrTenantShredded) {
			t.Errorf("%s of the deleted tenant: %v, want %v", obj, err, atrest.ErrTenantShredded)
		}
	}
	kek, err := ring.ObjectKEK(ctx, kept, workflow.EnvelopeObject(keptEnv), false)
	if err != nil {
		t.Fatalf("the other tenant's envelope key: %v", err)
	}
	if _, err := dataseal.Seal(ctx, kek, dataseal.AD{Tenant: kept, Object: workflow.EnvelopeObject(keptEnv), Field: "probe"}, []byte("x"), rand.Reader); err != nil {
		t.Errorf("the other tenant's key does not seal: %v", err)
	}
	// The ciphertexts are still there; only the keys are gone.
	blobs := 0
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			blobs++
		}
		return nil
	})
	if blobs < 2 {
		t.Errorf("%d blobs on disk, want both tenants' documents", blobs)
	}
	verifyAudit(t, dir)
}

// verifyAudit verifies the audit log of a stopped server's data
// directory against its checkpoint key and write-once copies, and
// returns its size.
func verifyAudit(t *testing.T, dir string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub, err := os.ReadFile(filepath.Join(dir, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	latest, err := (&anchor.FileSink{Dir: filepath.Join(dir, "checkpoints")}).Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := auditlog.Verify(ctx, st, auditlog.VerifyOptions{Verifier: v, Origin: "signet.local/audit", Reference: &latest})
	if err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	return res.Size
}
