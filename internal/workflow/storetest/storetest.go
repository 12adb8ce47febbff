// Package storetest is the conformance suite of the workflow stores
// ([workflow.DocumentStore], [workflow.EnvelopeStore],
// [workflow.ContentStore] and [workflow.SettingsStore]): every driver
// (internal/workflow/sqlite, internal/workflow/postgres) runs [Run] from a
// test named TestConformance, and [RunNodes] on two stores over one
// database from a test named TestNodes.
//
// # Times
//
// The stores promise that a time round-trips as the same instant to the
// nanosecond (both drivers keep integer nanoseconds since the Unix
// epoch) and that every time they return is in UTC. The suite gives times
// with nanoseconds in a zone other than UTC and compares what it reads
// back with [reflect.DeepEqual] against the same values converted to UTC,
// so a driver that rounds, or returns another location, fails.
package storetest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

// Store is what a driver implements.
type Store interface {
	workflow.DocumentStore
	workflow.EnvelopeStore
	workflow.ContentStore
	workflow.SettingsStore
}

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Documents", func(t *testing.T) { testDocuments(t, open(t)) })
	t.Run("BlobReferenced", func(t *testing.T) { testBlobReferenced(t, open(t)) })
	t.Run("EnvelopeRoundTrip", func(t *testing.T) { testEnvelopeRoundTrip(t, open(t)) })
	t.Run("UpdateEnvelope", func(t *testing.T) { testUpdateEnvelope(t, open(t)) })
	t.Run("StaleUpdate", func(t *testing.T) { testStaleUpdate(t, open(t)) })
	t.Run("InsertIsAtomic", func(t *testing.T) { testInsertIsAtomic(t, open(t)) })
	t.Run("Transitions", func(t *testing.T) { testTransitions(t, open(t)) })
	t.Run("ListEnvelopes", func(t *testing.T) { testListEnvelopes(t, open(t)) })
	t.Run("DueEnvelopes", func(t *testing.T) { testDueEnvelopes(t, open(t)) })
	t.Run("CompletedEnvelopes", func(t *testing.T) { testCompletedEnvelopes(t, open(t)) })
	t.Run("PlacedFields", func(t *testing.T) { testPlacedFields(t, open(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) {
		s := open(t)
		testRacingUpdates(t, s, s)
	})
	runContents(t, open)
}

// RunNodes runs the checks of two nodes sharing one database: open
// returns two stores, each with its own connections, over one new, empty
// database.
func RunNodes(t *testing.T, open func(t *testing.T) (Store, Store)) {
	t.Run("SeeEachOthersWrites", func(t *testing.T) {
		a, b := open(t)
		testSeeEachOther(t, a, b)
	})
	t.Run("RacingUpdates", func(t *testing.T) {
		a, b := open(t)
		testRacingUpdates(t, a, b)
	})
}

// base is the suite's clock: nanoseconds, in a zone other than UTC.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// envelope returns a sent envelope of tenant created at created: two
// documents; an active signer notified at created who signed the first
// document, a waiting approver and a cc. It is next due when it expires,
// an hour after created (no reminders).
func envelope(tenant, id string, created time.Time) *workflow.Envelope {
	return &workflow.Envelope{
		ID: id, Tenant: tenant, Status: workflow.StatusSent, Subject: "Subject of " + id,
		Message: "Bitte unterschreiben – «quoted» 'text'",
		Documents: []workflow.EnvelopeDocument{
			{DocumentID: "doc_b", Name: "b.pdf", Pages: 2, OriginalSHA256: "orig-b-" + id, SHA256: "cur-b-" + id},
			{DocumentID: "doc_a", Name: "a.pdf", Pages: 7, OriginalSHA256: "orig-a-" + id, SHA256: "orig-a-" + id},
		},
		Recipients: []workflow.Recipient{
			{ID: "r2", Role: workflow.RoleSigner, Name: "A", Email: "a@example.com", Auth: workflow.AuthSMSCode, Phone: "+41791234567", Order: 1,
				Status: workflow.RecipientActive, Signed: []string{"doc_b"}, NotifiedAt: created, ViewedAt: created.Add(time.Second)},
			{ID: "r1", Role: workflow.RoleApprover, Name: "B", Email: "b@example.com", Auth: workflow.AuthAccessCode, Order: 2,
				AccessCodeHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
				Status:         workflow.RecipientWaiting},
			{ID: "r3", Role: workflow.RoleCC, Name: "C", Email: "c@example.com", Auth: workflow.AuthLinkOnly, Order: 3,
				Status: workflow.RecipientWaiting},
			{ID: "r4", Role: workflow.RoleSigner, Name: "D", Email: "d@example.com", Auth: workflow.AuthEmailCode, Order: 4,
				Status: workflow.RecipientWaiting},
		},
		Fields: []workflow.Field{
			{ID: "fld_2", DocumentID: "doc_a", RecipientID: "r4", Kind: workflow.FieldSignature, Page: 7,
				X: 72.125, Y: 0.1, W: 180, H: 36.75, Required: true, Label: "Signature «D»"},
			{ID: "fld_1", DocumentID: "doc_b", RecipientID: "r2", Kind: workflow.FieldDate, Page: 1,
				X: 0, Y: 1e-3, W: 4, H: 1000.5},
		},
		AllowLinkOnly: true,
		ExpiresAt:     created.Add(time.Hour), CreatedBy: "key_1",
		CreatedAt: created, UpdatedAt: created, SentAt: created, Version: 1,
		// One flag on, one off, so that neither round-trips by default.
		ApprovalRequired: true,
	}
}

// created is the first transition of e.
func created(e *workflow.Envelope) workflow.Transition {
	return workflow.Transition{EnvelopeID: e.ID, To: workflow.StatusDraft, Action: "create", ActorKind: "service",
		ActorID: e.CreatedBy, At: e.CreatedAt, CorrelationID: "req_" + e.ID, AuditEventID: "ev_create_" + e.ID}
}

// inUTC returns a deep copy of e with every time in UTC: what a store
// returns for e.
func inUTC(e *workflow.Envelope) *workflow.Envelope {
	c := *e
	c.Documents = slices.Clone(e.Documents)
	c.Recipients = slices.Clone(e.Recipients)
	c.Fields = slices.Clone(e.Fields)
	c.ExpiresAt, c.CreatedAt, c.UpdatedAt = c.ExpiresAt.UTC(), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.SentAt, c.CompletedAt = c.SentAt.UTC(), c.CompletedAt.UTC()
	for i := range c.Recipients {
		r := &c.Recipients[i]
		r.Signed = slices.Clone(r.Signed)
		r.NotifiedAt, r.RemindedAt, r.ViewedAt = r.NotifiedAt.UTC(), r.RemindedAt.UTC(), r.ViewedAt.UTC()
		r.ConsentedAt, r.CompletedAt, r.DeclinedAt = r.ConsentedAt.UTC(), r.CompletedAt.UTC(), r.DeclinedAt.UTC()
	}
	return &c
}

// wantEnvelope checks that got is e as stored.
func wantEnvelope(t *testing.T, what string, got, e *workflow.Envelope) {
	t.Helper()
	if want := inUTC(e); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func insert(t *testing.T, s Store, e *workflow.Envelope) {
	t.Helper()
	if err := s.InsertEnvelope(t.Context(), e, created(e)); err != nil {
		t.Fatalf("insert %s: %v", e.ID, err)
	}
}

func get(t *testing.T, s Store, id string) *workflow.Envelope {
	t.Helper()
	e, err := s.Envelope(t.Context(), id)
	if err != nil {
		t.Fatalf("envelope %s: %v", id, err)
	}
	return e
}

func testDocuments(t *testing.T, s Store) {
	ctx := t.Context()
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "ab", Size: 1 << 40, Pages: 3, Name: "Vertrag «1».pdf", Created: base}
	if _, err := s.Document(ctx, "t1", "doc_1"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("empty store: %v, want ErrNoRecord", err)
	}
	if ok, err := s.DocumentExists(ctx, "doc_1"); err != nil || ok {
		t.Fatalf("DocumentExists on an empty store = %v, %v", ok, err)
	}
	if err := s.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	other := &workflow.Document{ID: "doc_1", Tenant: "t2", SHA256: "cd", Size: 1, Pages: 1, Name: "other.pdf", Created: base}
	if err := s.InsertDocument(ctx, other); err == nil {
		t.Fatal("a duplicate document id was accepted (of another tenant)")
	}
	got, err := s.Document(ctx, "t1", "doc_1")
	if err != nil {
		t.Fatal(err)
	}
	want := *d
	want.Created = d.Created.UTC()
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("Document = %+v, want %+v", got, &want)
	}
	for _, tc := range []struct{ tenant, id string }{{"t2", "doc_1"}, {"", "doc_1"}, {"t1", "doc_2"}} {
		if got, err := s.Document(ctx, tc.tenant, tc.id); !errors.Is(err, workflow.ErrNoRecord) {
			t.Errorf("Document(%q, %q) = %+v, %v; want ErrNoRecord", tc.tenant, tc.id, got, err)
		}
	}
	for id, want := range map[string]bool{"doc_1": true, "doc_2": false, "DOC_1": false} {
		if ok, err := s.DocumentExists(ctx, id); err != nil || ok != want {
			t.Errorf("DocumentExists(%q) = %v, %v; want %v", id, ok, err, want)
		}
	}
}

func testBlobReferenced(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.InsertDocument(ctx, &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "uploaded", Size: 3, Pages: 1, Name: "x.pdf", Created: base}); err != nil {
		t.Fatal(err)
	}
	e := envelope("t2", "env_1", base)
	insert(t, s, e)
	e2 := inUTC(e)
	e2.Version = 2
	e2.Documents[0].SHA256 = "signed-once"
	if err := s.UpdateEnvelope(ctx, e2, 1, nil); err != nil {
		t.Fatal(err)
	}
	for sha, want := range map[string]bool{
		"uploaded":      true,  // a document row
		"orig-b-env_1":  true,  // an envelope document's original
		"orig-a-env_1":  true,  // an original that is also current
		"signed-once":   true,  // an envelope document's current version
		"cur-b-env_1":   false, // replaced by the update
		"unknown":       false,
		"UPLOADED":      false,
		"orig-b-env_1 ": false,
	} {
		if ok, err := s.BlobReferenced(ctx, sha); err != nil || ok != want {
			t.Errorf("BlobReferenced(%q) = %v, %v; want %v", sha, ok, err, want)
		}
	}
}

func testEnvelopeRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.Envelope(ctx, "env_1"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("missing envelope: %v, want ErrNoRecord", err)
	}
	e := envelope("t1", "env_1", base)
	e.ReminderEvery = 90 * time.Minute
	e.Reason = "a reason"
	e.Recipients[0].RemindedAt = base.Add(time.Minute)
	e.Recipients[0].ConsentedAt = base.Add(2 * time.Minute)
	insert(t, s, e)
	wantEnvelope(t, "stored envelope", get(t, s, "env_1"), e)
	if err := s.InsertEnvelope(ctx, envelope("t2", "env_1", base), created(e)); err == nil {
		t.Fatal("a duplicate envelope id was accepted (of another tenant)")
	}
	wantEnvelope(t, "envelope after a refused duplicate", get(t, s, "env_1"), e)
	// An envelope with no recipients or documents yet (a bare draft).
	bare := envelope("t1", "env_2", base)
	bare.Status, bare.SentAt, bare.Documents, bare.Recipients, bare.Fields = workflow.StatusDraft, time.Time{}, nil, nil, nil
	insert(t, s, bare)
	wantEnvelope(t, "bare draft", get(t, s, "env_2"), bare)
	if _, err := s.Envelope(ctx, "ENV_1"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("envelope ids are case-sensitive: %v", err)
	}
}

// advance returns a copy of e one version on: in progress, the signer has
// signed both documents, the approver is active and notified.
func advance(e *workflow.Envelope, at time.Time) *workflow.Envelope {
	n := inUTC(e)
	n.Version++
	n.Status = workflow.StatusInProgress
	n.UpdatedAt = at
	n.Documents[0].SHA256 = "signed-b-" + e.ID
	n.Documents[1].SHA256 = "signed-a-" + e.ID
	r := &n.Recipients[0]
	r.Status, r.Signed, r.ConsentedAt, r.CompletedAt = workflow.RecipientCompleted, []string{"doc_b", "doc_a"}, at, at
	n.Recipients[1].Status, n.Recipients[1].NotifiedAt = workflow.RecipientActive, at
	return n
}

func testUpdateEnvelope(t *testing.T, s Store) {
	ctx := t.Context()
	e := envelope("t1", "env_1", base)
	insert(t, s, e)
	e2 := advance(e, base.Add(time.Minute))
	tr := workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusInProgress,
		Action: workflow.ActionStart, ActorKind: "recipient", ActorID: "r2", At: base.Add(time.Minute), AuditEventID: "ev2"}
	if err := s.UpdateEnvelope(ctx, e2, 1, &tr); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "after update", get(t, s, "env_1"), e2)

	// A terminal update: every mutable column changes, times are cleared
	// and set, and no transition is appended.
	e3 := inUTC(e2)
	e3.Version, e3.Status, e3.Reason = 3, workflow.StatusDeclined, "declined: «no»"
	e3.UpdatedAt, e3.CompletedAt = base.Add(2*time.Minute), base.Add(2*time.Minute)
	r := &e3.Recipients[1]
	r.Status, r.DeclinedAt, r.DeclineReason, r.ViewedAt = workflow.RecipientDeclined, base.Add(2*time.Minute), "no", base.Add(90*time.Second)
	e3.Recipients[0].ViewedAt = time.Time{}
	if err := s.UpdateEnvelope(ctx, e3, 2, nil); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "after a second update", get(t, s, "env_1"), e3)
	ts, err := s.Transitions(ctx, "env_1")
	if err != nil || len(ts) != 2 {
		t.Fatalf("transitions after two updates, one with a transition: %+v, %v", ts, err)
	}
	// Only the mutable columns change: an update cannot rename or
	// re-tenant an envelope.
	e4 := inUTC(e3)
	e4.Version, e4.Tenant, e4.Subject, e4.CreatedBy = 4, "t2", "changed", "someone"
	if err := s.UpdateEnvelope(ctx, e4, 3, nil); err != nil {
		t.Fatal(err)
	}
	e3.Version = 4
	wantEnvelope(t, "after an update of immutable fields", get(t, s, "env_1"), e3)
}

func testStaleUpdate(t *testing.T, s Store) {
	ctx := t.Context()
	e := envelope("t1", "env_1", base)
	insert(t, s, e)
	e2 := advance(e, base.Add(time.Minute))
	tr := &workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusInProgress, At: base, AuditEventID: "ev2"}
	for _, prev := range []int64{0, 2, 7} {
		if err := s.UpdateEnvelope(ctx, e2, prev, tr); !errors.Is(err, workflow.ErrStale) {
			t.Fatalf("update based on version %d: %v, want ErrStale", prev, err)
		}
	}
	wantEnvelope(t, "after refused updates", get(t, s, "env_1"), e)
	if ts, err := s.Transitions(ctx, "env_1"); err != nil || len(ts) != 1 {
		t.Fatalf("a refused update appended a transition: %+v, %v", ts, err)
	}
	if err := s.UpdateEnvelope(ctx, e2, 1, tr); err != nil {
		t.Fatal(err)
	}
	// The same update again is now stale.
	if err := s.UpdateEnvelope(ctx, e2, 1, tr); !errors.Is(err, workflow.ErrStale) {
		t.Fatalf("repeated update: %v, want ErrStale", err)
	}
	// An envelope that does not exist cannot be updated either.
	ghost := envelope("t1", "env_ghost", base)
	ghost.Version = 2
	if err := s.UpdateEnvelope(ctx, ghost, 1, nil); !errors.Is(err, workflow.ErrStale) {
		t.Fatalf("update of a missing envelope: %v, want ErrStale", err)
	}
	if _, err := s.Envelope(ctx, "env_ghost"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("an update created an envelope: %v", err)
	}
}

// testInsertIsAtomic: an insert whose recipients cannot be stored stores
// nothing, and an update whose transition cannot be stored changes
// nothing.
func testInsertIsAtomic(t *testing.T, s Store) {
	ctx := t.Context()
	bad := envelope("t1", "env_1", base)
	bad.Recipients = append(bad.Recipients, bad.Recipients[0]) // a duplicate recipient id
	if err := s.InsertEnvelope(ctx, bad, created(bad)); err == nil {
		t.Fatal("an envelope with a duplicate recipient id was accepted")
	}
	if _, err := s.Envelope(ctx, "env_1"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("a failed insert left the envelope: %v", err)
	}
	if ts, err := s.Transitions(ctx, "env_1"); err != nil || len(ts) != 0 {
		t.Fatalf("a failed insert left transitions: %+v, %v", ts, err)
	}
	if ok, err := s.BlobReferenced(ctx, "orig-b-env_1"); err != nil || ok {
		t.Fatalf("a failed insert left envelope documents: %v, %v", ok, err)
	}
	e := envelope("t1", "env_1", base)
	insert(t, s, e)
	// The transition names an envelope that does not exist: it cannot
	// be stored, and the envelope's update goes with it.
	e2 := advance(e, base.Add(time.Minute))
	tr := &workflow.Transition{EnvelopeID: "env_missing", From: workflow.StatusSent, To: workflow.StatusInProgress, At: base, AuditEventID: "ev2"}
	if err := s.UpdateEnvelope(ctx, e2, 1, tr); err == nil {
		t.Fatal("an update with a transition of a missing envelope was accepted")
	}
	wantEnvelope(t, "after a failed update", get(t, s, "env_1"), e)
}

func testTransitions(t *testing.T, s Store) {
	ctx := t.Context()
	if ts, err := s.Transitions(ctx, "env_1"); err != nil || len(ts) != 0 {
		t.Fatalf("transitions of a missing envelope: %+v, %v", ts, err)
	}
	e := envelope("t1", "env_1", base)
	other := envelope("t1", "env_2", base)
	insert(t, s, e)
	insert(t, s, other)
	want := []workflow.Transition{created(e)}
	cur := e
	// Transitions at decreasing times: they are listed in the order they
	// were appended (seq), not by time.
	for i := range 4 {
		next := inUTC(cur)
		next.Version++
		tr := workflow.Transition{EnvelopeID: e.ID, From: cur.Status, To: workflow.StatusInProgress,
			Action: workflow.ActionSign, ActorKind: "recipient", ActorID: fmt.Sprintf("r%d", i), Reason: fmt.Sprintf("reason %d", i),
			At: base.Add(-time.Duration(i) * time.Minute), CorrelationID: fmt.Sprintf("req_%d", i), AuditEventID: fmt.Sprintf("ev_%d", i)}
		if err := s.UpdateEnvelope(ctx, next, cur.Version, &tr); err != nil {
			t.Fatal(err)
		}
		want = append(want, tr)
		cur = next
		// The other envelope's transitions interleave and do not mix.
		o := inUTC(other)
		o.Version = other.Version + 1
		if err := s.UpdateEnvelope(ctx, o, other.Version, &workflow.Transition{EnvelopeID: other.ID, At: base, AuditEventID: "other"}); err != nil {
			t.Fatal(err)
		}
		other = o
	}
	ts, err := s.Transitions(ctx, "env_1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Seq = int64(i + 1)
		want[i].At = want[i].At.UTC()
	}
	if !reflect.DeepEqual(ts, want) {
		t.Fatalf("transitions:\n got %+v\nwant %+v", ts, want)
	}
	if ts, err := s.Transitions(ctx, "env_2"); err != nil || len(ts) != 5 || ts[4].Seq != 5 || ts[4].AuditEventID != "other" {
		t.Fatalf("other envelope's transitions: %+v, %v", ts, err)
	}
}

func ids(es []*workflow.Envelope) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testListEnvelopes(t *testing.T, s Store) {
	ctx := t.Context()
	if es, err := s.ListEnvelopes(ctx, "t1", workflow.ListFilter{Limit: 10}); err != nil || len(es) != 0 {
		t.Fatalf("empty store: %v, %v", ids(es), err)
	}
	type row struct {
		tenant, id string
		created    time.Duration // after base
		status     workflow.Status
	}
	rows := []row{
		{"t1", "env_c", 2 * time.Second, workflow.StatusSent},
		{"t1", "env_a", 0, workflow.StatusDraft},
		{"t1", "env_b", 0, workflow.StatusSent},
		{"t1", "env_B", 0, workflow.StatusSent}, // ids compare bytewise: "B" < "a"
		{"t1", "env_d", -time.Second, workflow.StatusDraft},
		{"t1", "env_e", time.Nanosecond, workflow.StatusCompleted},
		{"t2", "env_z", 3 * time.Second, workflow.StatusSent},
		{"t2", "env_y", 0, workflow.StatusDraft},
	}
	stored := map[string]*workflow.Envelope{}
	for _, r := range rows {
		e := envelope(r.tenant, r.id, base.Add(r.created))
		e.Status = r.status
		insert(t, s, e)
		stored[r.id] = e
	}
	// Newest first; equal times by id, descending.
	all := []string{"env_c", "env_e", "env_b", "env_a", "env_B", "env_d"}
	tests := []struct {
		tenant string
		status workflow.Status
		want   []string
	}{
		{"t1", "", all},
		{"t1", workflow.StatusDraft, []string{"env_a", "env_d"}},
		{"t1", workflow.StatusSent, []string{"env_c", "env_b", "env_B"}},
		{"t1", workflow.StatusVoided, nil},
		{"t2", "", []string{"env_z", "env_y"}},
		{"t3", "", nil},
		{"", "", nil},
	}
	for _, tc := range tests {
		for limit := 1; limit <= len(all)+1; limit++ {
			var got []string
			f := workflow.ListFilter{Status: tc.status, Limit: limit}
			for page := 0; ; page++ {
				es, err := s.ListEnvelopes(ctx, tc.tenant, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(es) > limit {
					t.Fatalf("%s/%q limit %d: %d envelopes", tc.tenant, tc.status, limit, len(es))
				}
				for _, e := range es {
					if e.Tenant != tc.tenant {
						t.Fatalf("tenant %q listed %s of tenant %q", tc.tenant, e.ID, e.Tenant)
					}
					wantEnvelope(t, "listed "+e.ID, e, stored[e.ID])
				}
				got = append(got, ids(es)...)
				if len(es) < limit || page > len(all) {
					break
				}
				last := es[len(es)-1]
				f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("tenant %q status %q in pages of %d: %v, want %v", tc.tenant, tc.status, limit, got, tc.want)
			}
		}
	}
	// A position continues after itself, whether or not it is a row.
	for _, tc := range []struct {
		after   time.Time
		afterID string
		want    []string
	}{
		{base, "env_b", []string{"env_a", "env_B", "env_d"}},
		{base, "env_ab", []string{"env_a", "env_B", "env_d"}},
		{base.Add(time.Nanosecond), "env_0", []string{"env_b", "env_a", "env_B", "env_d"}},
		{base.Add(time.Hour), "x", all},
		{base.Add(-time.Second), "env_d", nil},
	} {
		es, err := s.ListEnvelopes(ctx, "t1", workflow.ListFilter{AfterCreated: tc.after, AfterID: tc.afterID, Limit: 100})
		if err != nil || !slices.Equal(ids(es), tc.want) {
			t.Errorf("after (%v, %s): %v, %v; want %v", tc.after, tc.afterID, ids(es), err, tc.want)
		}
	}
	// A limit below 1 lists one.
	if es, err := s.ListEnvelopes(ctx, "t1", workflow.ListFilter{}); err != nil || !slices.Equal(ids(es), all[:1]) {
		t.Errorf("limit 0: %v, %v", ids(es), err)
	}
}

func testDueEnvelopes(t *testing.T, s Store) {
	ctx := t.Context()
	if due, err := s.DueEnvelopes(ctx, base.Add(1000*time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("empty store: %v, %v", due, err)
	}
	var es []*workflow.Envelope
	add := func(tenant, id string, status workflow.Status, expires time.Duration, reminder time.Duration) *workflow.Envelope {
		e := envelope(tenant, id, base)
		e.Status, e.ExpiresAt, e.ReminderEvery = status, base.Add(expires), reminder
		insert(t, s, e)
		es = append(es, e)
		return e
	}
	add("t1", "env_expires", workflow.StatusSent, 70*time.Minute, 0)
	remind := add("t1", "env_remind", workflow.StatusInProgress, 10*time.Hour, 30*time.Minute) // due at base+30m
	add("t2", "env_other", workflow.StatusSent, 45*time.Minute, 0)
	add("t1", "env_late", workflow.StatusSent, 2*time.Hour, 0)
	add("t1", "env_tie", workflow.StatusSent, 2*time.Hour, 0) // same instant as env_late
	add("t1", "env_draft", workflow.StatusDraft, time.Minute, time.Minute)
	add("t1", "env_done", workflow.StatusCompleted, time.Minute, time.Minute)

	// dueAt lists the ids due at now, in the order the stores promise,
	// from the envelopes' own NextDue.
	dueAt := func(now time.Time) []string {
		var ds []*workflow.Envelope
		for _, e := range es {
			if d := e.NextDue(); !d.IsZero() && !d.After(now) {
				ds = append(ds, e)
			}
		}
		sort.SliceStable(ds, func(i, j int) bool {
			di, dj := ds[i].NextDue(), ds[j].NextDue()
			return di.Before(dj) || di.Equal(dj) && ds[i].ID < ds[j].ID
		})
		return ids(ds)
	}
	if got := dueAt(base.Add(3 * time.Hour)); !slices.Equal(got, []string{"env_remind", "env_other", "env_expires", "env_late", "env_tie"}) {
		t.Fatalf("the suite's envelopes are due %v", got) // a change of NextDue, not of the store
	}
	for _, tc := range []struct {
		now   time.Time
		limit int
	}{
		{base, 10},
		{base.Add(30*time.Minute - time.Nanosecond), 10},
		{base.Add(30 * time.Minute), 10}, // the boundary is due
		{base.Add(time.Hour), 10},
		{base.Add(3 * time.Hour), 10},
		{base.Add(3 * time.Hour), 2},
		{base.Add(3 * time.Hour), 4},
		{base.Add(3 * time.Hour), 0},
		{base.Add(3 * time.Hour), -1},
	} {
		want := dueAt(tc.now)
		want = want[:min(len(want), max(tc.limit, 0))]
		got, err := s.DueEnvelopes(ctx, tc.now, tc.limit)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("due at %v (limit %d): %v, %v; want %v", tc.now.Sub(base), tc.limit, got, err, want)
		}
	}
	// An update stores the new NextDue: a reminder sent moves it on, an
	// end removes it.
	r2 := inUTC(remind)
	r2.Version, r2.Recipients[0].RemindedAt = 2, base.Add(30*time.Minute)
	if err := s.UpdateEnvelope(ctx, r2, 1, nil); err != nil {
		t.Fatal(err)
	}
	es[1] = r2
	if got, err := s.DueEnvelopes(ctx, base.Add(50*time.Minute), 10); err != nil || !slices.Equal(got, []string{"env_other"}) {
		t.Errorf("after a reminder: %v, %v", got, err)
	}
	r3 := inUTC(r2)
	r3.Version, r3.Status, r3.CompletedAt = 3, workflow.StatusVoided, base.Add(40*time.Minute)
	if err := s.UpdateEnvelope(ctx, r3, 2, nil); err != nil {
		t.Fatal(err)
	}
	es[1] = r3
	want := dueAt(base.Add(100 * time.Hour))
	if got, err := s.DueEnvelopes(ctx, base.Add(100*time.Hour), 10); err != nil || !slices.Equal(got, want) || slices.Contains(got, "env_remind") {
		t.Errorf("after voiding: %v, %v; want %v", got, err, want)
	}
}

// testSeeEachOther: what one node writes, the other reads at once.
func testSeeEachOther(t *testing.T, a, b Store) {
	ctx := t.Context()
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "ab", Size: 3, Pages: 1, Name: "x.pdf", Created: base}
	if err := a.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Document(ctx, "t1", "doc_1"); err != nil || got.SHA256 != "ab" {
		t.Fatalf("document written on a, read on b: %+v, %v", got, err)
	}
	if ok, err := b.BlobReferenced(ctx, "ab"); err != nil || !ok {
		t.Fatalf("blob of a's document on b: %v, %v", ok, err)
	}
	e := envelope("t1", "env_1", base)
	insert(t, a, e)
	wantEnvelope(t, "envelope written on a, read on b", get(t, b, "env_1"), e)
	e2 := advance(e, base.Add(time.Minute))
	if err := b.UpdateEnvelope(ctx, e2, 1, &workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusInProgress, At: base, AuditEventID: "ev2"}); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "envelope updated on b, read on a", get(t, a, "env_1"), e2)
	if err := a.UpdateEnvelope(ctx, e2, 1, nil); !errors.Is(err, workflow.ErrStale) {
		t.Fatalf("a's update from the version b replaced: %v, want ErrStale", err)
	}
	if ts, err := a.Transitions(ctx, "env_1"); err != nil || len(ts) != 2 || ts[1].AuditEventID != "ev2" {
		t.Fatalf("transitions on a: %+v, %v", ts, err)
	}
	if es, err := a.ListEnvelopes(ctx, "t1", workflow.ListFilter{Limit: 10}); err != nil || len(es) != 1 {
		t.Fatalf("list on a: %v, %v", ids(es), err)
	} else {
		wantEnvelope(t, "listed on a", es[0], e2)
	}
	if due, err := a.DueEnvelopes(ctx, e2.NextDue(), 10); err != nil || !slices.Equal(due, []string{"env_1"}) {
		t.Fatalf("due on a: %v, %v", due, err)
	}
}

// testRacingUpdates: several writers on a and on b update the same
// envelope from the same version at once, round after round. In each
// round exactly one wins, the others get ErrStale, and the stored
// envelope and transitions are the winner's.
func testRacingUpdates(t *testing.T, a, b Store) {
	ctx := t.Context()
	e := envelope("t1", "env_1", base)
	insert(t, a, e)
	const rounds, writers = 8, 6
	cur := inUTC(e)
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		next := make([]*workflow.Envelope, writers)
		for w := range writers {
			s := a
			if w%2 == 1 {
				s = b
			}
			n := inUTC(cur)
			n.Version = cur.Version + 1
			n.UpdatedAt = base.Add(time.Duration(round*writers+w) * time.Second)
			n.Reason = fmt.Sprintf("writer %d of round %d", w, round)
			n.Recipients[0].RemindedAt = n.UpdatedAt
			next[w] = n
			tr := &workflow.Transition{EnvelopeID: e.ID, From: cur.Status, To: cur.Status, Action: workflow.ActionSign,
				ActorKind: "recipient", At: n.UpdatedAt, AuditEventID: n.Reason}
			wg.Go(func() { errs[w] = s.UpdateEnvelope(ctx, n, cur.Version, tr) })
		}
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both won", round, winner, w)
			case err == nil:
				winner = w
			case !errors.Is(err, workflow.ErrStale):
				t.Fatalf("round %d, writer %d: %v, want ErrStale", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		for _, s := range []Store{a, b} {
			wantEnvelope(t, fmt.Sprintf("round %d", round), get(t, s, "env_1"), next[winner])
		}
		ts, err := b.Transitions(ctx, "env_1")
		if err != nil || len(ts) != round+2 || ts[round+1].Seq != int64(round+2) || ts[round+1].AuditEventID != next[winner].Reason {
			t.Fatalf("round %d: transitions %+v, %v", round, ts, err)
		}
		cur = next[winner]
	}
}

// testCompletedEnvelopes: completed envelopes of every tenant are walked
// in id order (byte order), a page at a time; other states are left out.
func testCompletedEnvelopes(t *testing.T, s Store) {
	ctx := t.Context()
	statuses := map[string]workflow.Status{
		"env_B": workflow.StatusCompleted, "env_a": workflow.StatusCompleted, "env_c": workflow.StatusVoided,
		"env_d": workflow.StatusCompleted, "env_e": workflow.StatusSent, "env_f": workflow.StatusCompleted,
		"env_g": workflow.StatusDeclined, "env_h": workflow.StatusExpired,
	}
	i := 0
	for _, id := range slices.Sorted(maps.Keys(statuses)) {
		e := envelope("t"+strconv.Itoa(1+i%3), id, base)
		e.Status = statuses[id]
		insert(t, s, e)
		i++
	}
	var walked []string
	after := ""
	for range 10 {
		page, err := s.CompletedEnvelopes(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("CompletedEnvelopes(%q, 2) = %q: more than the limit", after, page)
		}
		if len(page) == 0 {
			break
		}
		walked = append(walked, page...)
		after = page[len(page)-1]
	}
	// Byte order: upper case before lower case.
	if want := []string{"env_B", "env_a", "env_d", "env_f"}; !slices.Equal(walked, want) {
		t.Fatalf("walk over completed envelopes = %q, want %q", walked, want)
	}
	if got, err := s.CompletedEnvelopes(ctx, "env_a", 100); err != nil || !slices.Equal(got, []string{"env_d", "env_f"}) {
		t.Fatalf("CompletedEnvelopes after env_a = %q, %v", got, err)
	}
	if got, err := s.CompletedEnvelopes(ctx, "", 0); err != nil || len(got) != 0 {
		t.Fatalf("CompletedEnvelopes limit 0 = %q, %v", got, err)
	}
}

// testPlacedFields: a draft's update replaces its placed fields (their
// order kept); the update of a sent envelope leaves them as they are.
func testPlacedFields(t *testing.T, s Store) {
	ctx := t.Context()
	e := envelope("t1", "env_1", base)
	e.Status, e.SentAt = workflow.StatusDraft, time.Time{}
	insert(t, s, e)
	wantEnvelope(t, "draft with fields", get(t, s, "env_1"), e)

	e2 := inUTC(e)
	e2.Version = 2
	e2.Fields = []workflow.Field{
		{ID: "fld_9", DocumentID: "doc_b", RecipientID: "r2", Kind: workflow.FieldText, Page: 2, X: 10, Y: 20, W: 30, H: 40, Label: "Ort"},
		{ID: "fld_3", DocumentID: "doc_b", RecipientID: "r4", Kind: workflow.FieldInitials, Page: 1, X: 1.5, Y: 2.5, W: 5, H: 6, Required: true},
		e.Fields[0],
	}
	if err := s.UpdateEnvelope(ctx, e2, 1, nil); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "draft after its fields were replaced", get(t, s, "env_1"), e2)

	e3 := inUTC(e2)
	e3.Version = 3
	e3.Fields = nil
	if err := s.UpdateEnvelope(ctx, e3, 2, nil); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "draft after its fields were removed", get(t, s, "env_1"), e3)

	// Sent: the fields no longer change.
	e4 := inUTC(e2)
	e4.Version, e4.Status, e4.SentAt = 4, workflow.StatusSent, base.Add(time.Minute)
	e4.Fields = nil
	if err := s.UpdateEnvelope(ctx, e4, 3, nil); err != nil {
		t.Fatal(err)
	}
	e5 := inUTC(e4)
	e5.Version = 5
	e5.Fields = e2.Fields
	if err := s.UpdateEnvelope(ctx, e5, 4, nil); err != nil {
		t.Fatal(err)
	}
	e5.Fields = nil
	wantEnvelope(t, "sent envelope whose update names other fields", get(t, s, "env_1"), e5)

	// Lists carry the fields too, each envelope its own.
	other := envelope("t1", "env_2", base.Add(time.Second))
	insert(t, s, other)
	es, err := s.ListEnvelopes(ctx, "t1", workflow.ListFilter{Limit: 10})
	if err != nil || len(es) != 2 {
		t.Fatalf("ListEnvelopes = %v, %v", es, err)
	}
	wantEnvelope(t, "listed envelope with fields", es[0], other)
	wantEnvelope(t, "listed envelope without fields", es[1], e5)

	// Deleting the envelope deletes its fields.
	if err := s.DeleteEnvelope(ctx, "env_2"); err != nil {
		t.Fatal(err)
	}
	insert(t, s, envelope("t1", "env_2", base))
	wantEnvelope(t, "envelope inserted again after its deletion", get(t, s, "env_2"), envelope("t1", "env_2", base))
}

// testSettings: each tenant's settings, replaced as a whole.
func testSettings(t *testing.T, s Store) {
	ctx := t.Context()
	if st, err := s.TenantSettings(ctx, "t1"); err != nil || st != (workflow.Settings{}) {
		t.Fatalf("settings of a tenant that set none = %+v, %v", st, err)
	}
	text := "Einwilligung «elektronisch»\n\nZweiter Absatz."
	if err := s.PutTenantSettings(ctx, "t1", workflow.Settings{ConsentText: text}, base); err != nil {
		t.Fatal(err)
	}
	if st, err := s.TenantSettings(ctx, "t1"); err != nil || st.ConsentText != text {
		t.Fatalf("settings = %+v, %v; want %q", st, err, text)
	}
	if st, err := s.TenantSettings(ctx, "t2"); err != nil || st != (workflow.Settings{}) {
		t.Fatalf("another tenant's settings = %+v, %v", st, err)
	}
	if err := s.PutTenantSettings(ctx, "t1", workflow.Settings{ConsentText: "v2"}, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTenantSettings(ctx, "t2", workflow.Settings{}, base); err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"t1": "v2", "t2": ""} {
		if st, err := s.TenantSettings(ctx, tenant); err != nil || st.ConsentText != want {
			t.Errorf("settings of %s = %+v, %v; want %q", tenant, st, err, want)
		}
	}
}
