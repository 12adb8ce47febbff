package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/workflow"
)

// approvalDraft creates a draft of tenant t1 that needs an approval,
// with one signer.
func (e *env) approvalDraft(doc string, highAssurance bool) *workflow.Envelope {
	e.t.Helper()
	// A high-assurance envelope's signers confirm with a passkey.
	auth := ""
	if highAssurance {
		auth = workflow.AuthPasskey
	}
	env, err := e.svc.CreateEnvelope(context.Background(), actor("t1"), workflow.CreateRequest{
		Subject: "Contract", Documents: []string{doc}, ApprovalRequired: true, HighAssurance: highAssurance,
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "S", Email: "s@example.com", Auth: auth, Order: 1}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if !env.ApprovalRequired || env.HighAssurance != highAssurance {
		e.t.Fatalf("created %+v", env)
	}
	return env
}

var errNotYou = errors.New("separation of duties: the sender does not approve")

// approver is an approval check that refuses the sender and records
// what it was shown.
type approver struct {
	sender string
	ha     bool
	calls  int
}

func (a *approver) check(sender string, highAssurance bool) error {
	a.calls++
	a.sender, a.ha = sender, highAssurance
	if sender == "key-t1-approver" {
		return errNotYou
	}
	return nil
}

// TestApproval: sending an envelope that needs an approval submits it
// (nobody is notified); the approval check sees the stored submitter and
// assurance; a refused approval changes nothing; an approval sends it; a
// rejection returns it to draft with the reason; every step is a
// recorded transition.
func TestApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "contract")
	env := e.approvalDraft(d.ID, true)

	got, err := e.svc.Send(ctx, actor("t1"), env.ID)
	if err != nil || got.Status != workflow.StatusAwaitingApproval {
		t.Fatalf("send: %v, %v", got, err)
	}
	if n := e.outbox.take(); len(n) != 0 {
		t.Fatalf("submission notified %d recipients", len(n))
	}
	// Approving or rejecting needs the envelope to await approval, and a
	// check.
	if _, err := e.svc.Approve(ctx, actor("t1"), env.ID, nil); err == nil {
		t.Fatal("approved without a check")
	}
	draft := e.draft("t1", []string{d.ID}, "signer:1")
	a := &approver{}
	if _, err := e.svc.Approve(ctx, actor("t1"), draft.ID, a.check); !errors.Is(err, workflow.ErrInvalidTransition) || a.calls != 0 {
		t.Fatalf("approve a draft: %v (check called %d times)", err, a.calls)
	}
	// Another tenant's envelope is not found.
	if _, err := e.svc.Approve(ctx, actor("t2"), env.ID, a.check); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("approve another tenant's: %v", err)
	}

	// The check refuses: nothing changes.
	before := e.get(env.ID)
	sender := workflow.Actor{Tenant: "t1", Kind: actor("t1").Kind, ID: "key-t1-approver", CorrelationID: "r"}
	env2 := e.approvalDraft(d.ID, false)
	if _, err := e.svc.Send(ctx, sender, env2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Approve(ctx, sender, env2.ID, a.check); !errors.Is(err, errNotYou) || a.sender != "key-t1-approver" || a.ha {
		t.Fatalf("self-approval: %v; check saw %q ha=%v", err, a.sender, a.ha)
	}
	if after := e.get(env2.ID); after.Status != workflow.StatusAwaitingApproval || after.Version != 2 {
		t.Fatalf("refused approval changed the envelope: %s v%d", after.Status, after.Version)
	}

	// Rejection, resubmission, approval.
	if _, err := e.svc.Reject(ctx, actor("t1"), env.ID, "", a.check); !errors.Is(err, workflow.ErrInvalid) {
		t.Fatalf("reject without a reason: %v", err)
	}
	if got, err := e.svc.Reject(ctx, actor("t1"), env.ID, "wrong counterparty", a.check); err != nil || got.Status != workflow.StatusDraft {
		t.Fatalf("reject: %v, %v", got, err)
	}
	if a.sender != "key-t1" || !a.ha {
		t.Fatalf("check saw %q ha=%v, want the submitter key-t1 and high assurance", a.sender, a.ha)
	}
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	got, err = e.svc.Approve(ctx, actor("t1"), env.ID, a.check)
	if err != nil || got.Status != workflow.StatusSent || got.SentAt.IsZero() || got.Version <= before.Version {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	if n := e.outbox.take(); len(n) != 1 || n[0].Kind != workflow.NotifyTurn {
		t.Fatalf("approval notified %v", n)
	}
	hist, err := e.svc.History(ctx, actor("t1"), env.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, h := range hist {
		steps = append(steps, string(h.Action)+"→"+string(h.To))
	}
	want := "create→draft submit→awaiting_approval reject→draft submit→awaiting_approval approve→sent"
	if strings.Join(steps, " ") != want {
		t.Fatalf("history %v, want %s", steps, want)
	}
	if hist[2].Reason != "wrong counterparty" {
		t.Errorf("rejection reason %q", hist[2].Reason)
	}
}
