package workflow_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

// completedEnvelope returns a completed envelope of tenant t1 with one
// document, signed by one signer and sealed.
func (e *env) completedEnvelope() *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	d, err := e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(samplePDF(e.t, 1, "renewal")))
	if err != nil {
		e.t.Fatal(err)
	}
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		e.t.Fatal(err)
	}
	e.sign(env.ID, env.Recipients[0].ID)
	done, err := e.svc.Complete(ctx, env.ID)
	if err != nil || done.Status != workflow.StatusCompleted {
		e.t.Fatalf("complete: %v", err)
	}
	return done
}

// TestRenewDocument moves a completed envelope's document to a renewed
// version, records document.archive_renewed first, and refuses a stale
// previous version, an envelope not completed, a version not stored and
// a renewal the audit log cannot record.
func TestRenewDocument(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "sealed"}[sealed], func(t *testing.T) {
			var e *env
			if sealed {
				e, _ = newSealedEnv(t, nil)
			} else {
				e = newEnv(t)
			}
			ctx := context.Background()
			done := e.completedEnvelope()
			doc := done.Documents[0]
			renewed, err := appendContent(ctx, e.svc, "t1", doc.SHA256, "%renewed\n")
			if err != nil {
				t.Fatal(err)
			}
			due := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
			r := workflow.DocumentRenewal{EnvelopeID: done.ID, DocumentID: doc.DocumentID, PreviousSHA256: doc.SHA256, SHA256: renewed,
				Authority: "CN=Test TSA", Due: due, Reason: "authority certificate expires"}

			// The audit log down: nothing changes.
			before, _ := e.audit.Size(ctx)
			e.recorder.failing.Store(true)
			if err := e.svc.RenewDocument(ctx, r); !errors.Is(err, workflow.ErrAuditUnavailable) {
				t.Fatalf("renewal without the audit log: %v", err)
			}
			e.recorder.failing.Store(false)
			if got := e.get(done.ID).Documents[0].SHA256; got != doc.SHA256 {
				t.Fatal("a renewal the audit log did not record changed the document")
			}

			// Wrong inputs change nothing and record nothing.
			for name, bad := range map[string]workflow.DocumentRenewal{
				"stale previous":  func() workflow.DocumentRenewal { b := r; b.PreviousSHA256 = doc.OriginalSHA256; return b }(),
				"unknown version": func() workflow.DocumentRenewal { b := r; b.SHA256 = sum([]byte("not stored")); return b }(),
				"same version":    func() workflow.DocumentRenewal { b := r; b.SHA256 = b.PreviousSHA256; return b }(),
				"other document":  func() workflow.DocumentRenewal { b := r; b.DocumentID = "doc_nope"; return b }(),
			} {
				if err := e.svc.RenewDocument(ctx, bad); err == nil {
					t.Fatalf("%s: renewal accepted", name)
				}
			}
			if got := e.events(before); len(got) != 0 {
				t.Fatalf("refused renewals recorded %v", got)
			}

			if err := e.svc.RenewDocument(ctx, r); err != nil {
				t.Fatal(err)
			}
			got := e.get(done.ID)
			if got.Documents[0].SHA256 != renewed || got.Status != workflow.StatusCompleted || got.Documents[0].OriginalSHA256 != doc.OriginalSHA256 {
				t.Fatalf("after renewal: %+v", got.Documents[0])
			}
			if evs := e.events(before); !slices.Equal(evs, []string{"document.archive_renewed:success"}) {
				t.Fatalf("events %v", evs)
			}
			recs, _ := e.audit.Records(ctx, before, before+1)
			for _, want := range []string{`"document_id":"` + doc.DocumentID + `"`, `"previous_sha256":"` + doc.SHA256 + `"`,
				`"authority":"CN=Test TSA"`, `"due":"2027-01-02T03:04:05Z"`, renewed, done.ID} {
				if !bytes.Contains(recs[0].Leaf, []byte(want)) {
					t.Fatalf("document.archive_renewed lacks %s: %s", want, recs[0].Leaf)
				}
			}
			tr, err := e.svc.History(ctx, actor("t1"), done.ID)
			if err != nil || tr[len(tr)-1].To != workflow.StatusCompleted || tr[len(tr)-1].Action != workflow.ActionComplete {
				t.Fatalf("a renewal added a transition: %v", err)
			}
			// The same renewal again is stale now.
			if err := e.svc.RenewDocument(ctx, r); !errors.Is(err, workflow.ErrInvalidTransition) {
				t.Fatalf("repeated renewal: %v", err)
			}

			// An envelope that is not completed is refused.
			d, err := e.svc.Upload(ctx, actor("t1"), "y.pdf", bytes.NewReader(samplePDF(t, 1, "open")))
			if err != nil {
				t.Fatal(err)
			}
			open := e.draft("t1", []string{d.ID}, "signer:1")
			next, err := appendContent(ctx, e.svc, "t1", d.SHA256, "%renewed\n")
			if err != nil {
				t.Fatal(err)
			}
			err = e.svc.RenewDocument(ctx, workflow.DocumentRenewal{EnvelopeID: open.ID, DocumentID: d.ID, PreviousSHA256: d.SHA256, SHA256: next})
			if !errors.Is(err, workflow.ErrInvalidTransition) {
				t.Fatalf("renewal of a draft: %v", err)
			}
		})
	}
}

// TestCompletedEnvelopes walks the completed envelopes of every tenant a
// page at a time.
func TestCompletedEnvelopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var want []string
	for range 3 {
		want = append(want, e.completedEnvelope().ID)
	}
	d, err := e.svc.Upload(ctx, actor("t1"), "y.pdf", bytes.NewReader(samplePDF(t, 1, "open")))
	if err != nil {
		t.Fatal(err)
	}
	e.draft("t1", []string{d.ID}, "signer:1")
	slices.Sort(want)
	var got []string
	for after := ""; ; {
		page, err := e.svc.CompletedEnvelopes(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("completed envelopes %q, want %q", got, want)
	}
}
