package workflow

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// A Status is the state of an envelope.
type Status string

// Envelope states: draft → sent → in_progress → completed | declined |
// voided | expired; an envelope that needs an approval goes draft →
// awaiting_approval → sent (or back to draft when rejected).
const (
	StatusDraft            Status = "draft"
	StatusAwaitingApproval Status = "awaiting_approval"
	StatusSent             Status = "sent"
	StatusInProgress       Status = "in_progress"
	StatusCompleted        Status = "completed"
	StatusDeclined         Status = "declined"
	StatusVoided           Status = "voided"
	StatusExpired          Status = "expired"
)

// Terminal reports whether no action leaves s.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusDeclined || s == StatusVoided || s == StatusExpired
}

// Valid reports whether s is one of the envelope states.
func (s Status) Valid() bool {
	switch s {
	case StatusDraft, StatusAwaitingApproval, StatusSent, StatusInProgress, StatusCompleted, StatusDeclined, StatusVoided, StatusExpired:
		return true
	}
	return false
}

// An Action is what moves an envelope between states.
type Action string

// Actions on envelopes.
const (
	// ActionSend sends a draft to its first recipients (the sender).
	ActionSend Action = "send"
	// ActionSubmit submits a draft that needs an approval (the sender
	// asked to send it).
	ActionSubmit Action = "submit"
	// ActionApprove approves a submitted envelope, which is then sent;
	// the approver is not its sender (separation of duties).
	ActionApprove Action = "approve"
	// ActionReject returns a submitted envelope to draft, with a reason.
	ActionReject Action = "reject"
	// ActionStart records the first recipient activity (view, consent or
	// signature) on a sent envelope.
	ActionStart Action = "start"
	// ActionSign records a recipient's signature or approval; it is
	// allowed while the envelope is in progress.
	ActionSign Action = "sign"
	// ActionComplete seals the envelope once every signer and approver
	// has acted.
	ActionComplete Action = "complete"
	// ActionDecline ends the envelope because a recipient declined.
	ActionDecline Action = "decline"
	// ActionVoid ends the envelope at the sender's request.
	ActionVoid Action = "void"
	// ActionExpire ends the envelope when its expiry passes (scheduler).
	ActionExpire Action = "expire"
)

// transitions is the state machine: from each state, the actions allowed
// and the state they lead to. Anything absent is an invalid transition.
var transitions = sync.OnceValue(func() map[Status]map[Action]Status {
	return map[Status]map[Action]Status{
		StatusDraft: {
			ActionSend:   StatusSent,
			ActionSubmit: StatusAwaitingApproval,
		},
		StatusAwaitingApproval: {
			ActionApprove: StatusSent,
			ActionReject:  StatusDraft,
			ActionVoid:    StatusVoided,
			ActionExpire:  StatusExpired,
		},
		StatusSent: {
			ActionStart:   StatusInProgress,
			ActionDecline: StatusDeclined,
			ActionVoid:    StatusVoided,
			ActionExpire:  StatusExpired,
		},
		StatusInProgress: {
			ActionSign:     StatusInProgress,
			ActionComplete: StatusCompleted,
			ActionDecline:  StatusDeclined,
			ActionVoid:     StatusVoided,
			ActionExpire:   StatusExpired,
		},
		StatusCompleted: {},
		StatusDeclined:  {},
		StatusVoided:    {},
		StatusExpired:   {},
	}
})

// Transitions returns, for every state, the actions allowed from it and
// the state each leads to. The map is a copy.
func Transitions() map[Status]map[Action]Status {
	out := make(map[Status]map[Action]Status, len(transitions()))
	for s, m := range transitions() {
		out[s] = maps.Clone(m)
	}
	return out
}

// next returns the state action leads to from s, or an error matching
// [ErrInvalidTransition] that names the allowed actions.
func next(s Status, a Action) (Status, error) {
	if to, ok := transitions()[s][a]; ok {
		return to, nil
	}
	allowed := slices.Sorted(maps.Keys(transitions()[s]))
	detail := fmt.Sprintf("cannot %s an envelope that is %s", a, s)
	if len(allowed) == 0 {
		detail += " (a final state)"
	} else {
		detail += fmt.Sprintf(" (allowed: %v)", allowed)
	}
	return s, withDetail(ErrInvalidTransition, detail, nil)
}

// A Transition is one recorded change of an envelope's state, kept beside
// the envelope so that any state can be explained: who moved it, when and
// why. AuditEventID names the audit event recorded for the change, whose
// receipt proves the same facts from the audit log.
type Transition struct {
	EnvelopeID    string    `json:"-"`
	Seq           int64     `json:"seq"`
	From          Status    `json:"from"`
	To            Status    `json:"to"`
	Action        Action    `json:"action"`
	ActorKind     string    `json:"actor_kind"`
	ActorID       string    `json:"actor_id,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	At            time.Time `json:"at"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	AuditEventID  string    `json:"audit_event_id"`
}

// Explain renders t as one sentence, e.g. "2026-01-02T10:00:00Z: voided
// by service key k1 (from in_progress): customer withdrew".
func (t Transition) Explain() string {
	who := t.ActorKind
	if t.ActorID != "" {
		who += " " + t.ActorID
	}
	s := fmt.Sprintf("%s: %s by %s (from %s, action %s)", t.At.UTC().Format(time.RFC3339), t.To, who, t.From, t.Action)
	if t.Reason != "" {
		s += ": " + t.Reason
	}
	if t.CorrelationID != "" {
		s += " [request " + t.CorrelationID + "]"
	}
	return s + " [audit event " + t.AuditEventID + "]"
}
