package keys

import (
	"context"
	"fmt"
	"strconv"

	"github.com/signet-pki/signet/auditlog"
)

// A Recorder records audit events; [auditlog.Log] is one. The manager
// records every key operation before it happens and MUST NOT carry out an
// operation whose record failed (fail closed), as [auditlog.Recorder]
// requires.
type Recorder interface {
	Record(ctx context.Context, e auditlog.Event) error
}

// Operation names recorded in each event's "operation" detail. The event
// type says what kind of fact it is; the operation says exactly which key
// operation it was.
const (
	opGenerate = "generate"
	opSign     = "sign"
	opWrap     = "wrap"
	opUnwrap   = "unwrap"
	opMAC      = "mac"
	opRotate   = "rotate"
	opRevoke   = "revoke"
	opDestroy  = "destroy"
)

// keyRevoked is the event type for revocations. The audit log's closed
// vocabulary has no key revocation type yet; until it does, revocations
// are recorded as key.rotated events (a version leaving use) whose
// "operation" detail is "revoke".
const keyRevoked = auditlog.EventType("key.revoked")

// eventType returns the audit event type for op.
func eventType(op string) auditlog.EventType {
	switch op {
	case opGenerate:
		return auditlog.KeyCreated
	case opRotate:
		return auditlog.KeyRotated
	case opRevoke:
		if keyRevoked.Known() {
			return keyRevoked
		}
		return auditlog.KeyRotated
	case opDestroy:
		return auditlog.KeyDestroyed
	}
	return auditlog.KeyUsed
}

// event describes one key operation for the audit log.
type event struct {
	op      string
	key     *Key
	version int
	outcome auditlog.Outcome
	reason  string
	details map[string]string
}

// record writes e to the audit log. Its error wraps [ErrAudit]: the
// caller MUST then abandon the operation.
func (m *Manager) record(ctx context.Context, e event) error {
	d := map[string]string{
		"operation": e.op,
		"purpose":   string(e.key.Purpose),
		"algorithm": string(e.key.Algorithm),
		"backend":   e.key.Backend,
	}
	for k, v := range e.details {
		d[k] = v
	}
	ev := auditlog.Event{
		Type:    eventType(e.op),
		Tenant:  e.key.Tenant,
		Actor:   m.actor,
		Subject: auditlog.Subject{KeyID: e.key.ID},
		Outcome: e.outcome,
		Reason:  e.reason,
		Details: d,
	}
	if e.version > 0 {
		ev.Subject.KeyVersion = strconv.Itoa(e.version)
	}
	if err := m.rec.Record(ctx, ev); err != nil {
		return fmt.Errorf("%w: %s %s v%d: %w", ErrAudit, e.op, e.key.ID, e.version, err)
	}
	return nil
}

// attempt records that op is about to happen (outcome success). The
// operation MUST NOT proceed if it returns an error.
func (m *Manager) attempt(ctx context.Context, op string, k *Key, version int, details map[string]string) error {
	return m.record(ctx, event{op: op, key: k, version: version, outcome: auditlog.OutcomeSuccess, details: details})
}

// deny records a refused operation and returns cause, joined with the
// audit error if the record failed too.
func (m *Manager) deny(ctx context.Context, op string, k *Key, version int, cause error) error {
	if err := m.record(ctx, event{op: op, key: k, version: version, outcome: auditlog.OutcomeDenied, reason: cause.Error()}); err != nil {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return cause
}

// fail records that op failed after it was recorded as attempted, and
// returns cause (joined with the audit error if that record failed).
func (m *Manager) fail(ctx context.Context, op string, k *Key, version int, cause error) error {
	if err := m.record(ctx, event{op: op, key: k, version: version, outcome: auditlog.OutcomeFailure, reason: cause.Error()}); err != nil {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return cause
}
