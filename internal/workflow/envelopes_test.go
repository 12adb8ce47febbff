package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// upload stores a sample document for tenant through the service.
func (e *env) upload(tenant, title string) *workflow.Document {
	e.t.Helper()
	d, err := e.svc.Upload(context.Background(), actor(tenant), title+".pdf", strings.NewReader(string(samplePDF(e.t, 1, title))))
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// draft creates a draft of tenant with the given documents and recipients
// (role:order each).
func (e *env) draft(tenant string, docs []string, recipients ...string) *workflow.Envelope {
	e.t.Helper()
	req := workflow.CreateRequest{Subject: "Please sign", Documents: docs, ReminderEveryHours: 24}
	for i, r := range recipients {
		var role string
		var order int
		fmt.Sscanf(strings.Replace(r, ":", " ", 1), "%s %d", &role, &order)
		req.Recipients = append(req.Recipients, workflow.RecipientInput{
			Role: workflow.Role(role), Name: fmt.Sprintf("R%d", i), Email: fmt.Sprintf("r%d@example.com", i), Order: order,
		})
	}
	env, err := e.svc.CreateEnvelope(context.Background(), actor(tenant), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return env
}

// sign has recipient r view, consent and sign every document of env.
func (e *env) sign(envID, r string) workflow.Progress {
	e.t.Helper()
	ctx := context.Background()
	a := recipientActor(r)
	if _, err := e.svc.MarkViewed(ctx, a, envID); err != nil {
		e.t.Fatalf("view as %s: %v", r, err)
	}
	if _, err := e.svc.ConsentRecorded(ctx, a, envID); err != nil {
		e.t.Fatalf("consent as %s: %v", r, err)
	}
	var p workflow.Progress
	view, err := e.svc.RecipientContext(ctx, envID, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range view.Envelope.Documents {
		p, err = e.signDoc(envID, r, d.DocumentID)
		if err != nil {
			e.t.Fatalf("sign %s as %s: %v", d.DocumentID, r, err)
		}
	}
	return p
}

// signDoc signs one document under its lock, as the signing package does:
// read the current version, append, store, report.
func (e *env) signDoc(envID, r, docID string) (workflow.Progress, error) {
	return e.signDocOn(e.svc, envID, r, docID)
}

// signDocOn is signDoc through the service svc.
func (e *env) signDocOn(svc *workflow.Service, envID, r, docID string) (workflow.Progress, error) {
	ctx, unlock, err := svc.LockDocument(context.Background(), docID)
	if err != nil {
		return workflow.Progress{}, err
	}
	defer unlock()
	view, err := svc.RecipientContext(ctx, envID, r)
	if err != nil {
		return workflow.Progress{}, err
	}
	cur := view.Envelope.Document(docID)
	if cur == nil {
		return svc.RecipientSigned(ctx, recipientActor(r), envID, docID, strings.Repeat("0", 64))
	}
	next, err := appendContent(ctx, svc, view.Envelope.Tenant, cur.SHA256, "%signed by "+r+"\n")
	if err != nil {
		return workflow.Progress{}, err
	}
	return svc.RecipientSigned(ctx, recipientActor(r), envID, docID, next)
}

func (e *env) get(id string) *workflow.Envelope {
	e.t.Helper()
	env, err := e.svc.Envelope(context.Background(), actor("t1"), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return env
}

func kinds(ns []workflow.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind)+":"+n.Recipient.Name)
	}
	slices.Sort(out)
	return out
}

func TestEnvelopeRoutingToCompletion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d1, d2 := e.upload("t1", "one"), e.upload("t1", "two")
	env := e.draft("t1", []string{d1.ID, d2.ID}, "signer:1", "approver:2", "signer:2", "cc:3", "signer:4")
	rs := env.Recipients
	if env.Status != workflow.StatusDraft || e.outbox.take() != nil {
		t.Fatalf("draft %s notified someone", env.Status)
	}
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"turn:R0"}) {
		t.Fatalf("after send notified %v, want R0 only", got)
	}
	if p := e.sign(env.ID, rs[0].ID); !p.RecipientDone || p.ReadyToComplete {
		t.Fatalf("progress after R0 = %+v", p)
	}
	if s := e.get(env.ID).Status; s != workflow.StatusInProgress {
		t.Fatalf("status after first signature %s", s)
	}
	// The parallel group (order 2) is notified together and acts in any
	// order; the order-4 signer waits.
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"turn:R1", "turn:R2"}) {
		t.Fatalf("after R0 notified %v", got)
	}
	if _, err := e.signDoc(env.ID, rs[4].ID, d1.ID); !errors.Is(err, workflow.ErrNotYourTurn) {
		t.Fatalf("order-4 signer acting early: %v", err)
	}
	e.sign(env.ID, rs[2].ID)
	if got := e.outbox.take(); len(got) != 0 {
		t.Fatalf("half a parallel group notified %v", kinds(got))
	}
	e.sign(env.ID, rs[1].ID)
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"turn:R4"}) {
		t.Fatalf("after the group notified %v (the cc must wait for completion)", got)
	}
	if p := e.sign(env.ID, rs[4].ID); !p.ReadyToComplete {
		t.Fatalf("progress after the last signer = %+v", p)
	}
	before := e.get(env.ID)
	done, err := e.svc.Complete(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != workflow.StatusCompleted {
		t.Fatalf("status %s", done.Status)
	}
	for i, d := range done.Documents {
		if d.SHA256 == before.Documents[i].SHA256 || d.OriginalSHA256 == d.SHA256 {
			t.Fatalf("document %d not sealed: %+v", i, d)
		}
		r, _, err := e.blobs.Open(ctx, d.SHA256)
		if err != nil {
			t.Fatalf("sealed version not stored: %v", err)
		}
		r.Close()
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"completed:R0", "completed:R1", "completed:R2", "completed:R3", "completed:R4"}) {
		t.Fatalf("completion notified %v", got)
	}
	// Completing again changes nothing.
	if again, err := e.svc.Complete(ctx, env.ID); err != nil || again.Version != done.Version {
		t.Fatalf("second Complete: %v", err)
	}
	hist, err := e.svc.History(ctx, actor("t1"), env.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, h := range hist {
		steps = append(steps, string(h.From)+">"+string(h.To)+"/"+h.ActorKind)
		if h.AuditEventID == "" || h.At.IsZero() {
			t.Fatalf("transition without audit event or time: %+v", h)
		}
	}
	want := []string{">draft/service", "draft>sent/service", "sent>in_progress/recipient", "in_progress>completed/system"}
	if !slices.Equal(steps, want) {
		t.Fatalf("history %v, want %v", steps, want)
	}
	last, err := e.svc.Explain(ctx, actor("t1"), env.ID)
	if err != nil || last.To != workflow.StatusCompleted || !strings.Contains(last.Explain(), "completed by system") {
		t.Fatalf("Explain = %q, %v", last.Explain(), err)
	}
	// Each transition's audit event is in the log.
	for _, h := range hist {
		if _, err := e.audit.RecordByID(ctx, h.AuditEventID); err != nil {
			t.Fatalf("audit event %s of %s→%s: %v", h.AuditEventID, h.From, h.To, err)
		}
	}
	evs := strings.Join(e.events(0), " ")
	for _, typ := range []string{"envelope.created", "envelope.sent", "recipient.viewed", "signature.created", "envelope.completed"} {
		if !strings.Contains(evs, typ+":success") {
			t.Fatalf("no %s event in %s", typ, evs)
		}
	}
	if n := strings.Count(evs, "signature.created"); n != 8 {
		t.Fatalf("%d signature events, want 8 (4 signers × 2 documents)", n)
	}
	// The sealed version downloads through the envelope.
	resp, body := e.do("t1", "GET", "/v1/envelopes/"+env.ID+"/documents/"+d1.ID+"/content", "", nil)
	if resp.StatusCode != 200 || sum(body) != done.Documents[0].SHA256 {
		t.Fatalf("download of the sealed document: %d", resp.StatusCode)
	}
}

func TestParallelGroupConcurrentSignatures(t *testing.T) {
	e := newEnv(t)
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:1", "signer:1", "signer:1", "signer:2")
	ctx := context.Background()
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range env.Recipients[:4] {
		e.svc.ConsentRecorded(ctx, recipientActor(r.ID), env.ID)
	}
	e.outbox.take()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, r := range env.Recipients[:4] {
		wg.Go(func() { _, errs[i] = e.signDoc(env.ID, r.ID, d.ID) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("signer %d: %v", i, err)
		}
	}
	got := e.get(env.ID)
	// Every signature was applied on top of the previous one.
	r, _, err := e.blobs.Open(ctx, got.Documents[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1<<20)
	n, _ := r.Read(b)
	r.Close()
	for _, rc := range env.Recipients[:4] {
		if !strings.Contains(string(b[:n]), "signed by "+rc.ID) {
			t.Fatalf("signature of %s lost", rc.ID)
		}
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"turn:R4"}) {
		t.Fatalf("next group notified %v, want R4 once", got)
	}
}

func TestRecipientGuards(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:2")
	other := e.draft("t1", []string{d.ID}, "signer:1")
	r0, r1 := env.Recipients[0].ID, env.Recipients[1].ID
	// A draft is not open to recipients.
	if _, err := e.svc.MarkViewed(ctx, recipientActor(r0), env.ID); !errors.Is(err, workflow.ErrInvalidTransition) {
		t.Fatalf("view of a draft: %v", err)
	}
	e.svc.Send(ctx, actor("t1"), env.ID)
	e.svc.Send(ctx, actor("t1"), other.ID)
	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"recipient of another envelope", func() error {
			_, err := e.svc.MarkViewed(ctx, recipientActor(other.Recipients[0].ID), env.ID)
			return err
		}, workflow.ErrNotFound},
		{"context of another envelope", func() error {
			_, err := e.svc.RecipientContext(ctx, env.ID, other.Recipients[0].ID)
			return err
		}, workflow.ErrNotFound},
		{"not yet their turn", func() error {
			_, err := e.svc.MarkViewed(ctx, recipientActor(r1), env.ID)
			return err
		}, workflow.ErrNotYourTurn},
		{"sign without consent", func() error { _, err := e.signDoc(env.ID, r0, d.ID); return err }, workflow.ErrNotYourTurn},
		{"decline out of turn", func() error {
			_, err := e.svc.RecipientDeclined(ctx, recipientActor(r1), env.ID, "no")
			return err
		}, workflow.ErrNotYourTurn},
		{"an API key acting as recipient", func() error {
			_, err := e.svc.MarkViewed(ctx, actor("t1"), env.ID)
			return err
		}, workflow.ErrInvalid},
		{"bad version hash", func() error {
			_, err := e.svc.RecipientSigned(ctx, recipientActor(r0), env.ID, d.ID, "ABC")
			return err
		}, workflow.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.counts()
			if err := tt.fn(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if after := e.counts(); after.transitions != before.transitions {
				t.Fatalf("a refused recipient action changed state")
			}
		})
	}
	if _, err := e.svc.ConsentRecorded(ctx, recipientActor(r0), env.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecipientSigned(ctx, recipientActor(r0), env.ID, "doc_x", strings.Repeat("a", 64)); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("signing a document outside the envelope: %v", err)
	}
	e.sign(env.ID, r0)
	if _, err := e.signDoc(env.ID, r0, d.ID); !errors.Is(err, workflow.ErrNotYourTurn) {
		t.Fatalf("signing twice: %v", err)
	}
}

func TestDecline(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:2")
	e.svc.Send(ctx, actor("t1"), env.ID)
	e.outbox.take()
	got, err := e.svc.RecipientDeclined(ctx, recipientActor(env.Recipients[0].ID), env.ID, "wrong amount")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workflow.StatusDeclined || got.Reason != "wrong amount" || got.Recipients[0].Status != workflow.RecipientDeclined {
		t.Fatalf("after decline: %s %q %s", got.Status, got.Reason, got.Recipients[0].Status)
	}
	last, _ := e.svc.Explain(ctx, actor("t1"), env.ID)
	if last.Action != workflow.ActionDecline || last.ActorKind != "recipient" || last.Reason != "wrong amount" {
		t.Fatalf("explain: %+v", last)
	}
	if evs := e.events(0); evs[len(evs)-1] != "recipient.declined:success" {
		t.Fatalf("last event %v", evs)
	}
}

// stateEnvelope returns an envelope of t1 in state s.
func (e *env) stateEnvelope(s workflow.Status) *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	d := e.upload("t1", "doc")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	r := env.Recipients[0].ID
	step := func(_ any, err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	if s == workflow.StatusDraft {
		return env
	}
	if s == workflow.StatusAwaitingApproval {
		env = e.approvalDraft(d.ID, false)
	}
	step(e.svc.Send(ctx, actor("t1"), env.ID))
	switch s {
	case workflow.StatusInProgress:
		step(e.svc.MarkViewed(ctx, recipientActor(r), env.ID))
	case workflow.StatusCompleted:
		e.sign(env.ID, r)
		step(e.svc.Complete(ctx, env.ID))
	case workflow.StatusDeclined:
		step(e.svc.RecipientDeclined(ctx, recipientActor(r), env.ID, "no"))
	case workflow.StatusVoided:
		step(e.svc.Void(ctx, actor("t1"), env.ID, "mistake"))
	case workflow.StatusExpired:
		e.clock.Advance(workflow.DefaultExpiry + time.Hour)
		step(e.svc.Tick(ctx))
		e.clock.Advance(-workflow.DefaultExpiry - time.Hour)
	}
	got := e.get(env.ID)
	if got.Status != s {
		e.t.Fatalf("built %s, want %s", got.Status, s)
	}
	return got
}

// TestTransitionsFromEveryState drives every API action from every state:
// the allowed ones succeed, the others are a 409 problem that changes
// nothing.
func TestTransitionsFromEveryState(t *testing.T) {
	table := workflow.Transitions()
	states := []workflow.Status{workflow.StatusDraft, workflow.StatusAwaitingApproval, workflow.StatusSent, workflow.StatusInProgress,
		workflow.StatusCompleted, workflow.StatusDeclined, workflow.StatusVoided, workflow.StatusExpired}
	if len(table) != len(states) {
		t.Fatalf("the transition table has %d states, the test %d", len(table), len(states))
	}
	actions := []struct {
		action workflow.Action
		path   string
		body   any
	}{
		{workflow.ActionSend, "/send", nil},
		{workflow.ActionVoid, "/void", map[string]string{"reason": "changed our minds"}},
	}
	for _, s := range states {
		for _, a := range actions {
			t.Run(string(s)+"/"+string(a.action), func(t *testing.T) {
				e := newEnv(t)
				env := e.stateEnvelope(s)
				before := e.counts()
				var resp *http.Response
				var body []byte
				if a.body == nil {
					resp, body = e.do("t1", "POST", "/v1/envelopes/"+env.ID+a.path, "", nil)
				} else {
					resp, body = e.doJSON("t1", "POST", "/v1/envelopes/"+env.ID+a.path, a.body)
				}
				to, allowed := table[s][a.action]
				if allowed {
					var got struct{ Status workflow.Status }
					json.Unmarshal(body, &got)
					if resp.StatusCode != 200 || got.Status != to {
						t.Fatalf("%s from %s: %d %s", a.action, s, resp.StatusCode, body)
					}
					if c := e.counts(); c.transitions != before.transitions+1 || c.events <= before.events {
						t.Fatalf("allowed transition not recorded: %+v → %+v", before, c)
					}
					return
				}
				if resp.StatusCode != http.StatusConflict {
					t.Fatalf("%s from %s: %d %s, want 409", a.action, s, resp.StatusCode, body)
				}
				if p := problem(t, resp, body); p.Type != api.ProblemBase+"invalid-transition" {
					t.Fatalf("problem type %s", p.Type)
				}
				if after := e.counts(); after != before {
					t.Fatalf("refused transition stored something: %+v → %+v", before, after)
				}
				if got := e.get(env.ID); got.Status != s || got.Version != env.Version {
					t.Fatalf("envelope changed: %s v%d", got.Status, got.Version)
				}
			})
		}
	}
	// Recipient and scheduler actions from the final states are refused too.
	for _, s := range states[4:] {
		e := newEnv(t)
		env := e.stateEnvelope(s)
		r := recipientActor(env.Recipients[0].ID)
		ctx := context.Background()
		if _, err := e.svc.MarkViewed(ctx, r, env.ID); !errors.Is(err, workflow.ErrInvalidTransition) {
			t.Errorf("view in %s: %v", s, err)
		}
		if _, err := e.svc.RecipientDeclined(ctx, r, env.ID, "x"); !errors.Is(err, workflow.ErrInvalidTransition) {
			t.Errorf("decline in %s: %v", s, err)
		}
		if s != workflow.StatusCompleted {
			if _, err := e.svc.Complete(ctx, env.ID); !errors.Is(err, workflow.ErrInvalidTransition) {
				t.Errorf("complete in %s: %v", s, err)
			}
		}
	}
}

func TestStateChangesFailClosed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	e.recorder.failing.Store(true)
	before := e.counts()
	resp, body := e.do("t1", "POST", "/v1/envelopes/"+env.ID+"/send", "", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("send without audit: %d %s", resp.StatusCode, body)
	}
	if _, err := e.svc.CreateEnvelope(ctx, actor("t1"), workflow.CreateRequest{
		Subject: "s", Documents: []string{d.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "A", Email: "a@example.com", Order: 1}},
	}); !errors.Is(err, workflow.ErrAuditUnavailable) {
		t.Fatalf("create without audit: %v", err)
	}
	if after := e.counts(); after != before || e.get(env.ID).Status != workflow.StatusDraft || len(e.outbox.take()) != 0 {
		t.Fatalf("state changed without an audit event: %+v → %+v", before, after)
	}
	e.recorder.failing.Store(false)
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.recorder.failing.Store(true)
	if _, err := e.svc.MarkViewed(ctx, recipientActor(env.Recipients[0].ID), env.ID); !errors.Is(err, workflow.ErrAuditUnavailable) {
		t.Fatalf("view without audit: %v", err)
	}
	if s := e.get(env.ID).Status; s != workflow.StatusSent {
		t.Fatalf("status %s after a failed view", s)
	}
}
