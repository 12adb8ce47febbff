package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
)

func envelope(id string, created time.Time) *workflow.Envelope {
	return &workflow.Envelope{
		ID: id, Tenant: "t1", Status: workflow.StatusSent, Subject: "s", Message: "m",
		Documents: []workflow.EnvelopeDocument{{DocumentID: "doc_1", Name: "a.pdf", Pages: 2,
			OriginalSHA256: "aa", SHA256: "bb"}},
		Recipients: []workflow.Recipient{
			{ID: "r1", Role: workflow.RoleSigner, Name: "A", Email: "a@example.com", Auth: "email_otp", Order: 1,
				Status: workflow.RecipientActive, Signed: []string{"doc_1"}, NotifiedAt: created},
			{ID: "r2", Role: workflow.RoleCC, Name: "B", Email: "b@example.com", Auth: "email_otp", Order: 2,
				Status: workflow.RecipientWaiting},
		},
		ExpiresAt: created.Add(time.Hour), ReminderEvery: time.Hour, CreatedBy: "k",
		CreatedAt: created, UpdatedAt: created, SentAt: created, Version: 1,
	}
}

// TestRoundTripAcrossRestart stores an envelope, reopens the database and
// reads the same aggregate back; a stale update is refused.
func TestRoundTripAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "signet.db")
	st, err := workflowsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	e := envelope("env_1", now)
	tr := workflow.Transition{EnvelopeID: e.ID, To: workflow.StatusDraft, Action: "create", ActorKind: "service", At: now, AuditEventID: "ev1"}
	if err := st.InsertEnvelope(ctx, e, tr); err != nil {
		t.Fatal(err)
	}
	e2 := envelope("env_1", now)
	e2.Version = 2
	e2.Status = workflow.StatusInProgress
	e2.Recipients[0].ViewedAt = now.Add(time.Minute)
	e2.Documents[0].SHA256 = "cc"
	if err := st.UpdateEnvelope(ctx, e2, 1, &workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusInProgress, At: now, AuditEventID: "ev2"}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateEnvelope(ctx, e2, 1, nil); !errors.Is(err, workflow.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	st.Close()
	st, err = workflowsqlite.Open(ctx, path) // migrations run again: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Envelope(ctx, "env_1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e2) {
		t.Fatalf("after restart:\n got %+v\nwant %+v", got, e2)
	}
	ts, err := st.Transitions(ctx, "env_1")
	if err != nil || len(ts) != 2 || ts[0].Seq != 1 || ts[1].Seq != 2 || ts[1].AuditEventID != "ev2" {
		t.Fatalf("transitions %+v %v", ts, err)
	}
	if _, err := st.Envelope(ctx, "env_2"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("missing envelope: %v", err)
	}
	// The reminder of the active recipient (notified at now, every hour)
	// and the expiry are both an hour away.
	if due, err := st.DueEnvelopes(ctx, now, 10); err != nil || len(due) != 0 {
		t.Fatalf("due now: %v %v", due, err)
	}
	if due, err := st.DueEnvelopes(ctx, now.Add(time.Hour), 10); err != nil || len(due) != 1 {
		t.Fatalf("due in an hour: %v %v", due, err)
	}
}

func TestDocumentsAreTenantScoped(t *testing.T) {
	ctx := context.Background()
	st, err := workflowsqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "ab", Size: 3, Pages: 1, Name: "x.pdf", Created: time.Unix(5, 0).UTC()}
	if err := st.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertDocument(ctx, d); err == nil {
		t.Fatal("duplicate id accepted")
	}
	if got, err := st.Document(ctx, "t1", "doc_1"); err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("Document = %+v, %v", got, err)
	}
	if _, err := st.Document(ctx, "t2", "doc_1"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("other tenant: %v", err)
	}
	if ok, _ := st.DocumentExists(ctx, "doc_1"); !ok {
		t.Fatal("DocumentExists = false")
	}
	if ok, _ := st.BlobReferenced(ctx, "ab"); !ok {
		t.Fatal("BlobReferenced = false for a document's blob")
	}
	if ok, _ := st.BlobReferenced(ctx, "cd"); ok {
		t.Fatal("BlobReferenced = true for an unknown blob")
	}
}
