package keys_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

// blockEvents checks that every event is a successful key.used event of
// an aggregating signer and returns the uses they reserve and report.
func blockEvents(t *testing.T, es []auditlog.Event) (reserved, reported int64) {
	t.Helper()
	for _, e := range es {
		if e.Type != auditlog.KeyUsed || e.Outcome != auditlog.OutcomeSuccess || e.Details["operation"] != "sign" {
			t.Fatalf("unexpected event %s %s %s", e.Type, e.Details["operation"], e.Outcome)
		}
		n, err := strconv.ParseInt(e.Details["uses_reserved"], 10, 64)
		if err != nil || n < 1 || n > keys.MaxUseBlock {
			t.Fatalf("uses_reserved %q", e.Details["uses_reserved"])
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Details["reserved_until"]); err != nil {
			t.Fatalf("reserved_until %q: %v", e.Details["reserved_until"], err)
		}
		reserved += n
		if p, ok := e.Details["previous_uses"]; ok {
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil || n < 1 {
				t.Fatalf("previous_uses %q", p)
			}
			reported += n
		}
	}
	return reserved, reported
}

// TestAggregatedUses: a signer with AggregateUses records a flood of
// signatures as a few key.used events, each recorded before the uses it
// reserves; the count of uses made is reported by the next block; an
// occasional use is a block of one; a revocation stops use at once
// within a block; and a block that cannot be recorded stops use.
func TestAggregatedUses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeTimestamping})
	s, _, err := f.m.Signer(ctx, k.ID, keys.PurposeTimestamping, keys.AggregateUses(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var events []auditlog.Event
	// A flood: 1000 signatures while the clock stands still. After each,
	// the uses recorded so far cover the uses made.
	for i := 1; i <= 1000; i++ {
		sign(t, s)
		events = append(events, f.rec.take()...)
		if reserved, _ := blockEvents(t, events); reserved < int64(i) {
			t.Fatalf("after %d signatures only %d uses were recorded", i, reserved)
		}
	}
	if len(events) > 11 {
		t.Errorf("1000 signatures made %d events", len(events))
	}
	if events[0].Details["uses_reserved"] != "1" {
		t.Errorf("the first use reserved %s uses, not 1", events[0].Details["uses_reserved"])
	}

	// A steady flood over five intervals: about one event per interval.
	made := int64(1000)
	for range 5 {
		for range 300 {
			f.clock.Advance(200 * time.Millisecond)
			sign(t, s)
			made++
		}
		es := f.rec.take()
		events = append(events, es...)
		if len(es) > 2 {
			t.Errorf("300 signatures in one minute made %d events", len(es))
		}
	}

	// After a quiet interval, one use is a block of one, and it reports
	// every use made before it.
	f.clock.Advance(10 * time.Minute)
	sign(t, s)
	es := f.rec.take()
	events = append(events, es...)
	if len(es) != 1 || es[0].Details["uses_reserved"] != "1" {
		t.Fatalf("an occasional use after a quiet time: %v", ops(es))
	}
	if _, reported := blockEvents(t, events); reported != made {
		t.Errorf("the events report %d uses, %d were made", reported, made)
	}

	// Within a block, a revocation stops use at once.
	for range 3 {
		sign(t, s)
	}
	if _, err := f.m.Revoke(ctx, k.ID, 0, keys.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrState) {
		t.Errorf("a revoked key signed within its block: %v", err)
	}
}

// TestAggregatedUsesFailClosed: when the block's event cannot be
// recorded, nothing is signed, and signing resumes with a new block once
// the log records again.
func TestAggregatedUsesFailClosed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeTimestamping})
	s, _, err := f.m.Signer(ctx, k.ID, keys.PurposeTimestamping, keys.AggregateUses(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	f.rec.setRefuse(true)
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrAudit) {
		t.Fatalf("signed without a record: %v", err)
	}
	f.rec.setRefuse(false)
	for range 4 {
		sign(t, s)
	}
	// The block of the last two uses is over: a new one is needed, and
	// the log refuses it.
	f.clock.Advance(2 * time.Minute)
	f.rec.setRefuse(true)
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrAudit) {
		t.Fatalf("signed without a record after the block ended: %v", err)
	}
	f.rec.setRefuse(false)
	sign(t, s)
	es := f.rec.take()
	if last := es[len(es)-1]; last.Details["previous_uses"] != "1" {
		t.Errorf("the block after a refused one reports %q uses of the one before", last.Details["previous_uses"])
	}
	if _, reported := blockEvents(t, es); reported != 4 {
		t.Errorf("the events report %d uses, 4 were made", reported)
	}
}

// TestAggregatedWrapUses: Wrap and Unwrap given AggregateUses record a
// flood as a few key.used events, wraps and unwraps in blocks of their
// own (each event's operation names the uses it reserves); without the
// option every call is recorded; a revocation stops unwrapping at once
// within a block; a block that cannot be recorded stops use.
func TestAggregatedWrapUses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	f.rec.take()
	agg := keys.AggregateUses(time.Minute)
	var blob []byte
	for i := range 500 {
		b, err := f.m.Wrap(ctx, k.ID, []byte("data key"), []byte("object"), agg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			blob = b
		}
		if _, err := f.m.Unwrap(ctx, k.ID, blob, []byte("object"), agg); err != nil {
			t.Fatal(err)
		}
	}
	es := f.rec.take()
	if len(es) > 20 {
		t.Errorf("500 wraps and 500 unwraps made %d events", len(es))
	}
	reserved := map[string]int64{}
	for _, e := range es {
		if e.Type != auditlog.KeyUsed || e.Outcome != auditlog.OutcomeSuccess {
			t.Fatalf("unexpected event %s %s", e.Type, e.Outcome)
		}
		n, err := strconv.ParseInt(e.Details["uses_reserved"], 10, 64)
		if err != nil {
			t.Fatalf("uses_reserved %q", e.Details["uses_reserved"])
		}
		reserved[e.Details["operation"]] += n
	}
	if reserved["wrap"] < 500 || reserved["unwrap"] < 500 || len(reserved) != 2 {
		t.Errorf("the events reserve %v uses for 500 of each", reserved)
	}

	// Without the option: one event per call.
	if _, err := f.m.Unwrap(ctx, k.ID, blob, []byte("object")); err != nil {
		t.Fatal(err)
	}
	if es := f.rec.take(); len(es) != 1 || es[0].Details["uses_reserved"] != "" {
		t.Errorf("an unwrap without the option made %v", ops(es))
	}

	// A revocation stops unwrapping within a block.
	if _, err := f.m.Revoke(ctx, k.ID, 0, keys.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Unwrap(ctx, k.ID, blob, []byte("object"), agg); !errors.Is(err, keys.ErrState) {
		t.Errorf("a revoked key unwrapped within its block: %v", err)
	}

	// A block that cannot be recorded: no wrap.
	k2 := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	f.rec.setRefuse(true)
	if _, err := f.m.Wrap(ctx, k2.ID, []byte("data key"), nil, agg); !errors.Is(err, keys.ErrAudit) {
		t.Fatalf("wrapped without a record: %v", err)
	}
	f.rec.setRefuse(false)
}
