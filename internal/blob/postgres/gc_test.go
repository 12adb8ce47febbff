package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
)

// unused stands in for the parts of the workflow service that garbage
// collection does not call.
type unused struct{}

func (unused) Notify(context.Context, workflow.Notification) error {
	return errors.New("no notifications in this test")
}

func (unused) Complete(context.Context, *workflow.Envelope, workflow.Contents) (map[string]string, error) {
	return nil, errors.New("no completion in this test")
}

// TestCollectGarbage runs the workflow's garbage collection on this store:
// it deletes the blobs that no document references, once their grace has
// passed, and keeps every version a kept revision extends.
func TestCollectGarbage(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	docs, err := workflowsqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docs.Close() })
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: keys, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	svc, err := workflow.New(workflow.Config{
		Documents: docs, Envelopes: docs, Blobs: s, Audit: log,
		Notifier: unused{}, Completer: unused{}, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Written two hours ago: an uploaded document, signed twice (the
	// second version referenced), a signature whose request failed, an
	// orphan and an orphan's revision.
	s.Now = func() time.Time { return now.Add(-2 * time.Hour) }
	put := func(content string) string {
		t.Helper()
		n, _, err := s.Put(ctx, bytes.NewReader([]byte(content)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	appendTo := func(base, tail string) string {
		t.Helper()
		n, _, err := s.Append(ctx, base, bytes.NewReader([]byte(tail)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	v0 := put("%PDF-1.7 uploaded\n")
	v1 := appendTo(v0, "%first signature\n")
	v2 := appendTo(v1, "%second signature\n")
	abandoned := appendTo(v1, "%a signature whose request failed\n")
	orphan := put("%PDF-1.7 orphan of a failed upload\n")
	orphanRev := appendTo(orphan, "%and its revision\n")
	if err := docs.InsertDocument(ctx, &workflow.Document{ID: "doc_latest", Tenant: "t1", SHA256: v2,
		Size: 1, Pages: 1, Name: "latest.pdf", Created: now}); err != nil {
		t.Fatal(err)
	}
	// Just written: spared by the grace period.
	s.Now = clock
	recent := put("%PDF-1.7 an upload whose row is being written\n")

	n, err := svc.CollectGarbage(ctx, s, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The orphan's revision goes with the orphan if that is deleted first.
	if n < 2 || n > 3 {
		t.Errorf("collected %d blobs, want the abandoned signature and the orphan with its revision", n)
	}
	for _, kept := range []string{v0, v1, v2, recent} {
		if _, _, err := s.Open(ctx, kept); err != nil {
			t.Errorf("kept blob %s: %v", kept[:8], err)
		}
	}
	for _, gone := range []string{abandoned, orphan, orphanRev} {
		if _, _, err := s.Open(ctx, gone); err == nil {
			t.Errorf("unreferenced blob %s survived", gone[:8])
		}
	}
}
