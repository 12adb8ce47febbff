package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// Dump returns every byte the store's database holds at rest (a SQLite
// file with its WAL, or every text and bytea value of a PostgreSQL
// database's tables), written as files under a directory for
// [secretscan.Check].
type Dump func(t *testing.T) (dir string)

// FieldsStore is a driver that [workflow.SealStoredFields] can convert.
type FieldsStore interface {
	Store
	workflow.FieldStore
}

// RunSealed checks the sealing of stored fields ([workflow.SealDocuments],
// [workflow.SealEnvelopes], [workflow.SealStoredFields]) over a driver:
// open returns a new, empty store and the dump of its database.
func RunSealed(t *testing.T, open func(t *testing.T) (FieldsStore, Dump)) {
	t.Run("MarkersAbsentAtRest", func(t *testing.T) {
		s, dump := open(t)
		testMarkersAbsent(t, s, dump)
	})
	t.Run("CopiedValuesDoNotOpen", func(t *testing.T) {
		s, _ := open(t)
		testCopiedValues(t, s)
	})
	t.Run("SealStoredConvertsOldRows", func(t *testing.T) {
		s, dump := open(t)
		testSealStored(t, s, dump)
	})
}

// marker returns a random marker string naming what it is planted in.
func marker(what string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "MARKER-" + what + "-" + hex.EncodeToString(b)
}

// markedEnvelope returns envelope(tenant, id) with a marker in every
// sealed field, and the markers.
func markedEnvelope(tenant, id string) (*workflow.Envelope, []string) {
	e := envelope(tenant, id, base)
	var ms []string
	mark := func(v *string, what string) {
		*v = marker(what)
		ms = append(ms, *v)
	}
	mark(&e.Subject, "subject")
	mark(&e.Message, "message")
	for i := range e.Documents {
		mark(&e.Documents[i].Name, "docname")
	}
	for i := range e.Recipients {
		r := &e.Recipients[i]
		mark(&r.Name, "name")
		mark(&r.Email, "email")
		mark(&r.Phone, "phone")
	}
	for i := range e.Fields {
		mark(&e.Fields[i].Label, "fieldlabel")
	}
	return e, ms
}

func sealed(s Store, keys workflow.KeyRing) (workflow.DocumentStore, workflow.EnvelopeStore) {
	return workflow.SealDocuments(s, keys, rand.Reader), workflow.SealEnvelopes(s, keys, rand.Reader)
}

func testMarkersAbsent(t *testing.T, s FieldsStore, dump Dump) {
	ctx := t.Context()
	keys := &atresttest.KeyRing{}
	docs, envs := sealed(s, keys)
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "aa", Size: 10, Pages: 1, Name: marker("document"), Created: base}
	if err := docs.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	e, ms := markedEnvelope("t1", "env_1")
	ms = append(ms, d.Name)
	if err := envs.InsertEnvelope(ctx, e, created(e)); err != nil {
		t.Fatal(err)
	}
	// A decline: the recipient's reason, the envelope's and the
	// transition's.
	u := inUTC(e)
	u.Version, u.Status, u.UpdatedAt = 2, workflow.StatusDeclined, base.Add(time.Minute)
	u.Reason = marker("reason")
	u.Recipients[0].Status, u.Recipients[0].DeclinedAt = workflow.RecipientDeclined, base.Add(time.Minute)
	u.Recipients[0].DeclineReason = marker("decline")
	tr := workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusDeclined, Action: "decline",
		ActorKind: "recipient", ActorID: "r2", Reason: marker("transition"), At: u.UpdatedAt, AuditEventID: "ev_decline"}
	ms = append(ms, u.Reason, u.Recipients[0].DeclineReason, tr.Reason)
	if err := envs.UpdateEnvelope(ctx, u, 1, &tr); err != nil {
		t.Fatal(err)
	}
	// The service reads every value back.
	if got, err := docs.Document(ctx, "t1", "doc_1"); err != nil || got.Name != d.Name {
		t.Fatalf("document: %+v, %v", got, err)
	}
	got, err := envs.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "sealed envelope", got, u)
	list, err := envs.ListEnvelopes(ctx, "t1", workflow.ListFilter{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %v", list, err)
	}
	wantEnvelope(t, "listed envelope", list[0], u)
	ts, err := envs.Transitions(ctx, e.ID)
	if err != nil || len(ts) != 2 || ts[1].Reason != tr.Reason {
		t.Fatalf("transitions: %+v, %v", ts, err)
	}
	// The driver itself holds only sealed values.
	raw, err := s.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw.Subject, workflow.SealedPrefix) || !strings.HasPrefix(raw.Recipients[1].Email, workflow.SealedPrefix) {
		t.Fatalf("stored subject %q, email %q: not sealed", raw.Subject, raw.Recipients[1].Email)
	}
	// And nothing of the markers is at rest, in any encoding.
	if n := secretscan.Check(t, dump(t), ms...); n == 0 {
		t.Fatal("the dump holds no file")
	}
	// The check is not blind: the same markers stored by the driver
	// alone are found.
	plain, pms := markedEnvelope("t1", "env_plain")
	if err := s.InsertEnvelope(ctx, plain, created(plain)); err != nil {
		t.Fatal(err)
	}
	dir := dump(t)
	if !holds(t, dir, pms[0]) {
		t.Fatal("a marker stored in clear is not found in the dump")
	}
}

// holds reports whether any file under dir holds s.
func holds(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	ft := &fakeT{TB: t, errorf: func() { found = true }}
	secretscan.Check(ft, dir, s)
	return found
}

// fakeT records that Errorf was called instead of failing.
type fakeT struct {
	testing.TB
	errorf func()
}

func (f *fakeT) Errorf(string, ...any) { f.errorf() }
func (f *fakeT) Helper()               {}

func testCopiedValues(t *testing.T, s FieldsStore) {
	ctx := t.Context()
	keys := &atresttest.KeyRing{}
	docs, envs := sealed(s, keys)
	for _, d := range []*workflow.Document{
		{ID: "doc_1", Tenant: "t1", SHA256: "aa", Size: 1, Pages: 1, Name: "one.pdf", Created: base},
		{ID: "doc_2", Tenant: "t1", SHA256: "bb", Size: 1, Pages: 1, Name: "two.pdf", Created: base},
		{ID: "doc_3", Tenant: "t2", SHA256: "cc", Size: 1, Pages: 1, Name: "three.pdf", Created: base},
	} {
		if err := docs.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := envelope("t1", "env_a", base), envelope("t1", "env_b", base), envelope("t2", "env_c", base)
	for _, e := range []*workflow.Envelope{a, b, c} {
		if err := envs.InsertEnvelope(ctx, e, created(e)); err != nil {
			t.Fatal(err)
		}
	}
	// A document's sealed name copied to another document, of the same
	// tenant and of another.
	rawDoc := func(tenant, id string) *workflow.Document {
		d, err := s.Document(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := rawDoc("t1", "doc_1")
	for _, to := range []*workflow.Document{rawDoc("t1", "doc_2"), rawDoc("t2", "doc_3")} {
		if err := s.SetDocumentName(ctx, to.ID, to.Name, d1.Name); err != nil {
			t.Fatal(err)
		}
		if got, err := docs.Document(ctx, to.Tenant, to.ID); err == nil {
			t.Errorf("document %s opened with %s's name: %q", to.ID, d1.ID, got.Name)
		}
	}

	type move struct {
		name string
		// change copies a sealed value of from into to.
		change func(from, to *workflow.Envelope)
		to     string
	}
	for _, m := range []move{
		{"email to another recipient", func(from, to *workflow.Envelope) { to.Recipients[1].Email = from.Recipients[0].Email }, "env_a"},
		{"name to another recipient", func(from, to *workflow.Envelope) { to.Recipients[2].Name = from.Recipients[0].Name }, "env_a"},
		{"subject to message", func(from, to *workflow.Envelope) { to.Message = from.Subject }, "env_a"},
		{"document name to another document", func(from, to *workflow.Envelope) { to.Documents[1].Name = from.Documents[0].Name }, "env_a"},
		{"email to another envelope", func(from, to *workflow.Envelope) { to.Recipients[0].Email = from.Recipients[0].Email }, "env_b"},
		{"subject to another tenant", func(from, to *workflow.Envelope) { to.Subject = from.Subject }, "env_c"},
	} {
		t.Run(m.name, func(t *testing.T) {
			from, err := s.Envelope(ctx, "env_a")
			if err != nil {
				t.Fatal(err)
			}
			to, err := s.Envelope(ctx, m.to)
			if err != nil {
				t.Fatal(err)
			}
			saved := *to
			saved.Documents, saved.Recipients = append([]workflow.EnvelopeDocument(nil), to.Documents...), append([]workflow.Recipient(nil), to.Recipients...)
			m.change(from, to)
			if err := s.SetEnvelopeFields(ctx, to, nil); err != nil {
				t.Fatal(err)
			}
			if got, err := envs.Envelope(ctx, m.to); err == nil {
				t.Errorf("envelope %s opened with a value copied from env_a: %+v", m.to, got)
			}
			// Put it back: it opens again.
			if err := s.SetEnvelopeFields(ctx, &saved, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := envs.Envelope(ctx, m.to); err != nil {
				t.Fatalf("restored envelope %s: %v", m.to, err)
			}
		})
	}
	// A shredded envelope's fields are gone.
	if err := keys.Shred(ctx, "t1", "envelope:env_b"); err != nil {
		t.Fatal(err)
	}
	if _, err := envs.Envelope(ctx, "env_b"); err == nil {
		t.Error("envelope opened after its key was shredded")
	}
}

func testSealStored(t *testing.T, s FieldsStore, dump Dump) {
	ctx := t.Context()
	// Rows written before the service had keys.
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "aa", Size: 1, Pages: 1, Name: marker("document"), Created: base}
	if err := s.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	empty := &workflow.Document{ID: "doc_2", Tenant: "t1", SHA256: "bb", Size: 1, Pages: 1, Created: base}
	if err := s.InsertDocument(ctx, empty); err != nil {
		t.Fatal(err)
	}
	e, ms := markedEnvelope("t1", "env_1")
	ms = append(ms, d.Name)
	if err := s.InsertEnvelope(ctx, e, created(e)); err != nil {
		t.Fatal(err)
	}
	v := inUTC(e)
	v.Version, v.Status, v.Reason = 2, workflow.StatusVoided, marker("void")
	tr := workflow.Transition{EnvelopeID: e.ID, From: workflow.StatusSent, To: workflow.StatusVoided, Action: "void",
		ActorKind: "service", ActorID: "key_1", Reason: marker("transition"), At: base.Add(time.Minute), AuditEventID: "ev_void"}
	ms = append(ms, v.Reason, tr.Reason)
	if err := s.UpdateEnvelope(ctx, v, 1, &tr); err != nil {
		t.Fatal(err)
	}
	keys := &atresttest.KeyRing{}
	docs, envs := sealed(s, keys)
	// Read with keys, they fail closed, except an empty name.
	if _, err := envs.Envelope(ctx, e.ID); !errors.Is(err, workflow.ErrUnsealedField) {
		t.Fatalf("clear envelope read with keys: %v, want ErrUnsealedField", err)
	}
	if _, err := docs.Document(ctx, "t1", d.ID); !errors.Is(err, workflow.ErrUnsealedField) {
		t.Fatalf("clear document read with keys: %v, want ErrUnsealedField", err)
	}
	if got, err := docs.Document(ctx, "t1", empty.ID); err != nil || got.Name != "" {
		t.Fatalf("document with an empty name: %+v, %v", got, err)
	}
	n, err := workflow.SealStoredFields(ctx, s, s, keys, rand.Reader)
	if err != nil || n != 2 {
		t.Fatalf("SealStoredFields = %d, %v; want 2 (one document, one envelope)", n, err)
	}
	if got, err := docs.Document(ctx, "t1", d.ID); err != nil || got.Name != d.Name {
		t.Fatalf("document after sealing: %+v, %v", got, err)
	}
	got, err := envs.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, "envelope after sealing", got, v)
	ts, err := envs.Transitions(ctx, e.ID)
	if err != nil || len(ts) != 2 || ts[1].Reason != tr.Reason {
		t.Fatalf("transitions after sealing: %+v, %v", ts, err)
	}
	// Idempotent: a second pass changes nothing, and the values still open.
	before, err := s.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := workflow.SealStoredFields(ctx, s, s, keys, rand.Reader); err != nil || n != 0 {
		t.Fatalf("second SealStoredFields = %d, %v; want 0", n, err)
	}
	after, err := s.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Subject != before.Subject || !bytes.Equal([]byte(after.Recipients[0].Email), []byte(before.Recipients[0].Email)) {
		t.Error("the second pass re-sealed sealed values")
	}
	secretscan.Check(t, dump(t), ms...)
}
