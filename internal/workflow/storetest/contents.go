package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

// runContents runs the checks of [workflow.ContentStore].
func runContents(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Contents", func(t *testing.T) { testContents(t, open(t)) })
	t.Run("ContentUsed", func(t *testing.T) { testContentUsed(t, open(t)) })
	t.Run("DeleteDocument", func(t *testing.T) { testDeleteDocument(t, open(t)) })
	t.Run("FinishedEnvelopes", func(t *testing.T) { testFinishedEnvelopes(t, open(t)) })
}

// content returns a content of tenant named sha created at created.
func content(tenant, sha string, created time.Time) *workflow.Content {
	return &workflow.Content{Tenant: tenant, SHA256: sha, Blob: "blob-" + tenant + "-" + sha, Size: 1<<33 + 5,
		State: []byte{0, 1, 2, 0xff, 'x'}, Created: created}
}

func insertContent(t *testing.T, s Store, c *workflow.Content) {
	t.Helper()
	if ok, err := s.InsertContent(t.Context(), c); err != nil || !ok {
		t.Fatalf("InsertContent %s/%s = %v, %v", c.Tenant, c.SHA256, ok, err)
	}
}

func wantContent(t *testing.T, s Store, c *workflow.Content) {
	t.Helper()
	got, err := s.Content(t.Context(), c.Tenant, c.SHA256)
	if err != nil {
		t.Fatalf("Content %s/%s: %v", c.Tenant, c.SHA256, err)
	}
	want := *c
	want.Created = c.Created.UTC()
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("Content = %+v, want %+v", got, &want)
	}
}

func testContents(t *testing.T, s Store) {
	ctx := t.Context()
	c := content("t1", "aa", base)
	if _, err := s.Content(ctx, "t1", "aa"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("empty store: %v, want ErrNoRecord", err)
	}
	insertContent(t, s, c)
	wantContent(t, s, c)
	// The same content again is not stored twice and leaves the first.
	again := content("t1", "aa", base.Add(time.Hour))
	again.Blob = "another-ciphertext"
	if ok, err := s.InsertContent(ctx, again); err != nil || ok {
		t.Fatalf("InsertContent of a stored content = %v, %v; want false, nil", ok, err)
	}
	wantContent(t, s, c)
	// Another tenant's same bytes are a content of its own.
	other := content("t2", "aa", base)
	insertContent(t, s, other)
	wantContent(t, s, other)
	for _, tc := range []struct{ tenant, sha string }{{"t3", "aa"}, {"", "aa"}, {"t1", "AA"}, {"t1", "a"}} {
		if got, err := s.Content(ctx, tc.tenant, tc.sha); !errors.Is(err, workflow.ErrNoRecord) {
			t.Errorf("Content(%q, %q) = %+v, %v; want ErrNoRecord", tc.tenant, tc.sha, got, err)
		}
	}
	// Touch moves Created, of that tenant's content only.
	later := base.Add(36 * time.Hour)
	if err := s.TouchContent(ctx, "t1", "aa", later); err != nil {
		t.Fatal(err)
	}
	c.Created = later
	wantContent(t, s, c)
	wantContent(t, s, other)
	if err := s.TouchContent(ctx, "t3", "aa", later); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("TouchContent of a missing content: %v, want ErrNoRecord", err)
	}
	// A document with its content, in one transaction: a new content is
	// stored; a stored one is kept and touched.
	d := &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "bb", Size: 5, Pages: 1, Name: "b.pdf", Created: base}
	fresh := content("t1", "bb", base.Add(time.Minute))
	if err := s.InsertDocumentContent(ctx, d, fresh); err != nil {
		t.Fatal(err)
	}
	wantContent(t, s, fresh)
	if _, err := s.Document(ctx, "t1", "doc_1"); err != nil {
		t.Fatal(err)
	}
	d2 := &workflow.Document{ID: "doc_2", Tenant: "t1", SHA256: "bb", Size: 5, Pages: 1, Name: "b.pdf", Created: base}
	again2 := content("t1", "bb", base.Add(2*time.Minute))
	again2.Blob, again2.State = "a-racing-ciphertext", []byte("other state")
	if err := s.InsertDocumentContent(ctx, d2, again2); err != nil {
		t.Fatal(err)
	}
	fresh.Created = again2.Created
	wantContent(t, s, fresh)
	// A duplicate document id stores neither.
	d3 := &workflow.Document{ID: "doc_2", Tenant: "t1", SHA256: "cc", Size: 5, Pages: 1, Name: "c.pdf", Created: base}
	if err := s.InsertDocumentContent(ctx, d3, content("t1", "cc", base)); err == nil {
		t.Fatal("a duplicate document id was accepted")
	}
	if _, err := s.Content(ctx, "t1", "cc"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("the content of a refused document: %v, want ErrNoRecord (one transaction)", err)
	}
	for blob, want := range map[string]bool{c.Blob: true, other.Blob: true, "another-ciphertext": false, "aa": false} {
		if ok, err := s.ContentBlobReferenced(ctx, blob); err != nil || ok != want {
			t.Errorf("ContentBlobReferenced(%q) = %v, %v; want %v", blob, ok, err, want)
		}
	}
	for range 2 { // deleting twice is not an error
		if err := s.DeleteContent(ctx, "t1", "aa"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Content(ctx, "t1", "aa"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("deleted content: %v", err)
	}
	wantContent(t, s, other)
	if ok, err := s.ContentBlobReferenced(ctx, c.Blob); err != nil || ok {
		t.Fatalf("blob of a deleted content still referenced: %v, %v", ok, err)
	}
}

// testContentUsed: a content is used by its own tenant's document rows
// and envelope documents (original or current), never by another
// tenant's; UnusedContents lists the others older than the cutoff.
func testContentUsed(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.InsertDocument(ctx, &workflow.Document{ID: "doc_1", Tenant: "t1", SHA256: "uploaded", Size: 3, Pages: 1, Name: "x.pdf", Created: base}); err != nil {
		t.Fatal(err)
	}
	e := envelope("t1", "env_1", base)
	insert(t, s, e)
	e2 := inUTC(e)
	e2.Version = 2
	e2.Documents[0].SHA256 = "signed-once"
	if err := s.UpdateEnvelope(ctx, e2, 1, nil); err != nil {
		t.Fatal(err)
	}
	used := []string{"uploaded", "orig-b-env_1", "orig-a-env_1", "signed-once"}
	free := []string{"cur-b-env_1", "unknown"}
	for i, sha := range append(slices.Clone(used), free...) {
		insertContent(t, s, content("t1", sha, base.Add(time.Duration(i)*time.Second)))
		// The same hashes in another tenant are used by nothing of it.
		insertContent(t, s, content("t2", sha, base.Add(time.Duration(i)*time.Second)))
	}
	for _, sha := range used {
		if ok, err := s.ContentUsed(ctx, "t1", sha); err != nil || !ok {
			t.Errorf("ContentUsed(t1, %q) = %v, %v; want true", sha, ok, err)
		}
	}
	for _, tc := range []struct{ tenant, sha string }{{"t1", "cur-b-env_1"}, {"t1", "unknown"}, {"t2", "uploaded"}, {"t2", "signed-once"}, {"t2", "orig-a-env_1"}} {
		if ok, err := s.ContentUsed(ctx, tc.tenant, tc.sha); err != nil || ok {
			t.Errorf("ContentUsed(%q, %q) = %v, %v; want false", tc.tenant, tc.sha, ok, err)
		}
	}
	names := func(cs []*workflow.Content) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Tenant+"/"+c.SHA256)
		}
		return out
	}
	all, err := s.UnusedContents(ctx, base.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t2/uploaded", "t2/orig-b-env_1", "t2/orig-a-env_1", "t2/signed-once", "t1/cur-b-env_1", "t2/cur-b-env_1", "t1/unknown", "t2/unknown"}
	if got := names(all); !slices.Equal(got, want) {
		t.Fatalf("UnusedContents = %q, want %q (oldest first)", got, want)
	}
	wantC := content("t2", "uploaded", base)
	wantC.Created = base.UTC()
	if !reflect.DeepEqual(all[0], wantC) {
		t.Fatalf("UnusedContents[0] = %+v, want %+v", all[0], wantC)
	}
	// The cutoff is exclusive; the limit bounds the batch.
	if got, err := s.UnusedContents(ctx, base.Add(4*time.Second), 100); err != nil || !slices.Equal(names(got), want[:4]) {
		t.Fatalf("UnusedContents before +4s = %q, %v; want %q", names(got), err, want[:4])
	}
	if got, err := s.UnusedContents(ctx, base.Add(time.Hour), 3); err != nil || !slices.Equal(names(got), want[:3]) {
		t.Fatalf("UnusedContents limit 3 = %q, %v", names(got), err)
	}
	if got, err := s.UnusedContents(ctx, base, 100); err != nil || len(got) != 0 {
		t.Fatalf("UnusedContents before the first = %q, %v", names(got), err)
	}
}

// testDeleteDocument: a document that an unfinished envelope has is not
// deleted; once every envelope that has it is finished, it is.
func testDeleteDocument(t *testing.T, s Store) {
	ctx := t.Context()
	for _, d := range []*workflow.Document{
		{ID: "doc_a", Tenant: "t1", SHA256: "a", Size: 1, Pages: 1, Name: "a.pdf", Created: base},
		{ID: "doc_b", Tenant: "t1", SHA256: "b", Size: 1, Pages: 1, Name: "b.pdf", Created: base},
		{ID: "doc_free", Tenant: "t1", SHA256: "f", Size: 1, Pages: 1, Name: "f.pdf", Created: base},
	} {
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteDocument(ctx, "t1", "doc_missing"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("DeleteDocument of a missing document: %v, want ErrNoRecord", err)
	}
	if _, err := s.DeleteDocument(ctx, "t2", "doc_free"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("DeleteDocument of another tenant's document: %v, want ErrNoRecord", err)
	}
	if inUse, err := s.DeleteDocument(ctx, "t1", "doc_free"); err != nil || inUse {
		t.Fatalf("DeleteDocument(doc_free) = %v, %v", inUse, err)
	}
	if _, err := s.Document(ctx, "t1", "doc_free"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("deleted document: %v", err)
	}
	// env_1 (sent) has doc_a and doc_b; a finished envelope of t1 has
	// doc_b as well.
	e := envelope("t1", "env_1", base)
	insert(t, s, e)
	done := envelope("t1", "env_2", base)
	done.Status = workflow.StatusCompleted
	insert(t, s, done)
	for id, want := range map[string]bool{"doc_a": true, "doc_b": true, "doc_free": false, "doc_missing": false} {
		if inUse, err := s.DocumentInUse(ctx, "t1", id); err != nil || inUse != want {
			t.Errorf("DocumentInUse(t1, %s) = %v, %v; want %v", id, inUse, err, want)
		}
		if inUse, err := s.DocumentInUse(ctx, "t2", id); err != nil || inUse {
			t.Errorf("DocumentInUse(t2, %s) = %v, %v; want false", id, inUse, err)
		}
	}
	for _, id := range []string{"doc_a", "doc_b"} {
		if inUse, err := s.DeleteDocument(ctx, "t1", id); err != nil || !inUse {
			t.Fatalf("DeleteDocument(%s) of a sent envelope = %v, %v; want in use", id, inUse, err)
		}
		if _, err := s.Document(ctx, "t1", id); err != nil {
			t.Fatalf("document %s in use was deleted: %v", id, err)
		}
	}
	e2 := inUTC(e)
	e2.Version, e2.Status = 2, workflow.StatusVoided
	if err := s.UpdateEnvelope(ctx, e2, 1, nil); err != nil {
		t.Fatal(err)
	}
	if inUse, err := s.DocumentInUse(ctx, "t1", "doc_a"); err != nil || inUse {
		t.Fatalf("DocumentInUse of a voided envelope's document = %v, %v", inUse, err)
	}
	for _, id := range []string{"doc_a", "doc_b"} {
		if inUse, err := s.DeleteDocument(ctx, "t1", id); err != nil || inUse {
			t.Fatalf("DeleteDocument(%s) of a voided envelope = %v, %v", id, inUse, err)
		}
	}
	// The envelopes keep their versions.
	if got := get(t, s, "env_1"); len(got.Documents) != 2 {
		t.Fatalf("envelope documents after the documents' deletion: %+v", got.Documents)
	}
}

// testFinishedEnvelopes: finished envelopes are listed by their last
// update, and DeleteEnvelope removes the whole aggregate.
func testFinishedEnvelopes(t *testing.T, s Store) {
	ctx := t.Context()
	statuses := []workflow.Status{workflow.StatusCompleted, workflow.StatusDeclined, workflow.StatusVoided, workflow.StatusExpired,
		workflow.StatusSent, workflow.StatusInProgress, workflow.StatusDraft, workflow.StatusAwaitingApproval}
	for i, st := range statuses {
		e := envelope("t"+string(rune('1'+i%2)), "env_"+string(rune('a'+i)), base)
		e.Status = st
		// Updated in reverse order of the ids, a minute apart.
		e.UpdatedAt = base.Add(time.Duration(len(statuses)-i) * time.Minute)
		insert(t, s, e)
	}
	got, err := s.FinishedEnvelopes(ctx, base.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"env_d", "env_c", "env_b", "env_a"}; !slices.Equal(got, want) {
		t.Fatalf("FinishedEnvelopes = %q, want %q", got, want)
	}
	// The cutoff is exclusive: env_a was updated at base+8m.
	if got, err := s.FinishedEnvelopes(ctx, base.Add(8*time.Minute), 100); err != nil || !slices.Equal(got, []string{"env_d", "env_c", "env_b"}) {
		t.Fatalf("FinishedEnvelopes before +8m = %q, %v", got, err)
	}
	if got, err := s.FinishedEnvelopes(ctx, base.Add(time.Hour), 2); err != nil || !slices.Equal(got, []string{"env_d", "env_c"}) {
		t.Fatalf("FinishedEnvelopes limit 2 = %q, %v", got, err)
	}
	for range 2 { // deleting twice is not an error
		if err := s.DeleteEnvelope(ctx, "env_d"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Envelope(ctx, "env_d"); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("deleted envelope: %v", err)
	}
	if tr, err := s.Transitions(ctx, "env_d"); err != nil || len(tr) != 0 {
		t.Fatalf("transitions of a deleted envelope: %v, %v", tr, err)
	}
	if ok, err := s.BlobReferenced(ctx, "orig-b-env_d"); err != nil || ok {
		t.Fatalf("documents of a deleted envelope still referenced: %v, %v", ok, err)
	}
	wantEnvelope(t, "another envelope", get(t, s, "env_c"), func() *workflow.Envelope {
		e := envelope("t1", "env_c", base)
		e.Status, e.UpdatedAt = workflow.StatusVoided, base.Add(6*time.Minute)
		return e
	}())
	if got, err := s.FinishedEnvelopes(ctx, base.Add(time.Hour), 100); err != nil || !slices.Equal(got, []string{"env_c", "env_b", "env_a"}) {
		t.Fatalf("FinishedEnvelopes after a deletion = %q, %v", got, err)
	}
}
