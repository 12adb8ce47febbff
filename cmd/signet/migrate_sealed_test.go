package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/workflow"
	workflowpostgres "github.com/signet-pki/signet/internal/workflow/postgres"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/keys/dataseal"
)

// oneKey is a workflow.KeyRing with one data key for every object: what
// the test needs to store a sealed content.
type oneKey struct{ key []byte }

func (k oneKey) ObjectKEK(context.Context, string, string, bool) (dataseal.KEK, error) {
	return dataseal.NewAESKEK("1", k.key), nil
}
func (oneKey) Shred(context.Context, string, string) error { return nil }

// noop records, notifies and completes nothing (an upload needs none).
type noop struct{}

func (noop) Record(context.Context, auditlog.Event) error        { return nil }
func (noop) Notify(context.Context, workflow.Notification) error { return nil }
func (noop) Complete(context.Context, *workflow.Envelope, workflow.Contents) (map[string]string, error) {
	return nil, errors.New("not completing")
}

// TestMigrateSealedContents: a document whose content is sealed (a
// workflow_contents row and a ciphertext blob) moves with `signet
// migrate` as the ciphertext it is, with its row; the copy's check
// hashes the ciphertext, since the tool does not hold the data keys.
func TestMigrateSealedContents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	if code, stdout, stderr := signetRun(t, "quickstart", "--dir", dir); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	st, err := workflowsqlite.Open(ctx, filepath.Join(data, "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blob.NewFS(filepath.Join(data, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	wf, err := workflow.New(workflow.Config{Documents: st, Envelopes: st, Blobs: bs, Keys: oneKey{key}, Audit: noop{}, Notifier: noop{}, Completer: noop{}})
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 1, Title: "Sealed for migration"}); err != nil {
		t.Fatal(err)
	}
	plain := bytes.Clone(doc.Bytes())
	d, err := wf.Upload(ctx, workflow.Actor{Tenant: "default", Kind: auditlog.ActorService, ID: "test"}, "sealed.pdf", &doc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Content(ctx, "default", d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	owner, app := pgtest.NewDatabase(t)
	code, stdout, stderr := signetRun(t, "migrate", "--from", data, "--to", owner, "--app-role", pgtest.AppRole)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "document hashes OK") {
		t.Fatalf("migrate output:\n%s", stdout)
	}
	conn, err := pgx.Connect(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var blobName string
	var size int64
	if err := conn.QueryRow(ctx, `SELECT blob, size FROM workflow_contents WHERE tenant = 'default' AND sha256 = $1`, d.SHA256).Scan(&blobName, &size); err != nil ||
		blobName != c.Blob || size != c.Size {
		t.Fatalf("content row on the target: %s %d %v", blobName, size, err)
	}
	// Through the workflow on the target, with the same key, the
	// document reads back as uploaded.
	pool, err := pgdb.Open(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pst, err := workflowpostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	pbs, err := blobpostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	pwf, err := workflow.New(workflow.Config{Documents: pst, Envelopes: pst, Blobs: pbs, Keys: oneKey{key}, Audit: noop{}, Notifier: noop{}, Completer: noop{}})
	if err != nil {
		t.Fatal(err)
	}
	rd, n, err := pwf.OpenContent(ctx, "default", d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got := make([]byte, n)
	if _, err := rd.ReadAt(got, 0); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the sealed document on the target: %v, equal %v", err, bytes.Equal(got, plain))
	}
	if _, _, err := pbs.Open(ctx, d.SHA256); err == nil {
		t.Fatal("the document is on the target in clear")
	}
}
