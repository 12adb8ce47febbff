package sqlite_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/internal/workflow/storetest"
)

func open(t *testing.T, path string) *workflowsqlite.Store {
	t.Helper()
	st, err := workflowsqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestConformance runs the workflow stores' conformance suite on a fresh
// database file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "signet.db"))
	})
}

// TestNodes runs the suite's two-node checks on two stores, each with its
// own connections, over one database file.
func TestNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		path := filepath.Join(t.TempDir(), "signet.db")
		return open(t, path), open(t, path)
	})
}

// TestRoundTripAcrossRestart stores an envelope, closes the database,
// reopens it (the migrations run again: a no-op) and reads the same
// aggregate back.
func TestRoundTripAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "signet.db")
	st, err := workflowsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	e := &workflow.Envelope{
		ID: "env_1", Tenant: "t1", Status: workflow.StatusSent, Subject: "s", Message: "m",
		Documents: []workflow.EnvelopeDocument{{DocumentID: "doc_1", Name: "a.pdf", Pages: 2, OriginalSHA256: "aa", SHA256: "bb"}},
		Recipients: []workflow.Recipient{{ID: "r1", Role: workflow.RoleSigner, Name: "A", Email: "a@example.com",
			Auth: workflow.AuthAccessCode, AccessCodeHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Order: 1, Status: workflow.RecipientActive, NotifiedAt: now}},
		AllowLinkOnly: true,
		ExpiresAt:     now.Add(time.Hour), CreatedBy: "k", CreatedAt: now, UpdatedAt: now, SentAt: now, Version: 1,
	}
	if err := st.InsertEnvelope(ctx, e, workflow.Transition{EnvelopeID: e.ID, To: workflow.StatusDraft, At: now, AuditEventID: "ev1"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open(t, path)
	got, err := st.Envelope(ctx, "env_1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("after restart:\n got %+v\nwant %+v", got, e)
	}
	if due, err := st.DueEnvelopes(ctx, now.Add(time.Hour), 10); err != nil || len(due) != 1 {
		t.Fatalf("due after restart: %v %v", due, err)
	}
}

// TestSealed runs the suite's checks of sealed fields: the dump is the
// database file with its write-ahead log.
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (storetest.FieldsStore, storetest.Dump) {
		dir := t.TempDir()
		return open(t, filepath.Join(dir, "signet.db")), func(*testing.T) string { return dir }
	})
}
