package keys

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// useSpec says what an operation on key material requires.
type useSpec struct {
	op string
	// purpose reports whether k may be used for op; it returns an error
	// wrapping ErrPurpose if not.
	purpose func(k *Key) error
	// states are the version states op is allowed in.
	states []State
	// limited operations are new uses subject to the usage limit.
	limited bool
	// aggregate, if positive, records uses in blocks (see
	// [AggregateUses]).
	aggregate time.Duration
}

var activeOnly = []State{StateActive}

// use checks that version n of key id (the active one if n is 0) may
// perform s.op, records the attempt, and counts it. Refusals are recorded
// as denied. On success the caller performs the operation with the
// returned version and then calls [Manager.afterUse].
func (m *Manager) use(ctx context.Context, id string, n int, s useSpec) (*Key, Version, Backend, error) {
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, Version{}, nil, m.deny(ctx, s.op, &Key{ID: id}, n, err)
	}
	if err := s.purpose(k); err != nil {
		return nil, Version{}, nil, m.deny(ctx, s.op, k, n, err)
	}
	if n == 0 && s.limited {
		// The active version may sit at its limit if an automatic
		// rotation failed: try again now.
		if a := k.Active(); a != nil && k.UsageLimit > 0 && a.Usage >= k.UsageLimit {
			if _, err := m.rotateFrom(ctx, k.ID, a.Number, "usage-limit"); err == nil {
				if k, err = m.store.Get(ctx, id); err != nil {
					return nil, Version{}, nil, err
				}
			}
		}
	}
	v, err := pickVersion(k, n)
	if err != nil {
		return nil, Version{}, nil, m.deny(ctx, s.op, k, n, err)
	}
	if err := checkUse(k, v, s); err != nil {
		return nil, Version{}, nil, m.deny(ctx, s.op, k, v.Number, err)
	}
	b, err := m.backend(k)
	if err != nil {
		return nil, Version{}, nil, m.deny(ctx, s.op, k, v.Number, err)
	}
	if !selfRecording(k) {
		if err := m.recordUse(ctx, s, k, v.Number); err != nil {
			return nil, Version{}, nil, err
		}
	}
	// The state was checked on the stored key just now, so a revoked or
	// rotated version is refused at once, reservation or not.
	if m.reserved.take(id, v.Number) {
		return k, *v, b, nil
	}
	busy := m.reserved.busy(id, v.Number, m.now())
	var counted Version
	var block int64
	err = m.store.Update(ctx, id, func(c *Key) error {
		cv := c.Version(v.Number)
		if cv == nil {
			return fmt.Errorf("%w: %s has no version %d", ErrNotFound, id, v.Number)
		}
		if err := checkUse(c, cv, s); err != nil {
			return err
		}
		block = 1
		if busy && (c.UsageLimit == 0 || c.UsageLimit-cv.Usage > 2*usageBlock) {
			block = usageBlock
		}
		cv.Usage += block
		counted = *cv
		return nil
	})
	if err != nil {
		return nil, Version{}, nil, m.fail(ctx, s.op, k, v.Number, err)
	}
	m.reserved.add(id, v.Number, block-1)
	return k, counted, b, nil
}

// usageBlock is the number of uses one durable update of a version's
// usage count reserves (see [Version.Usage]) once the version is busy,
// i.e. its count was last updated by this Manager less than busyWithin
// ago: a busy signing key, such as an issuing CA's or the TSA's, then
// commits its count once per block rather than once per signature, while
// an occasional use (a command-line signature) is counted exactly.
const (
	usageBlock = 64
	busyWithin = time.Second
)

// reservations are the uses of key versions counted ahead and not yet
// made by this Manager.
type reservations struct {
	mu   sync.Mutex
	left map[reservedVersion]int64
	last map[reservedVersion]time.Time
}

// busy reports whether version n of key id had its count updated by this
// Manager within busyWithin of now, and records now as its last update.
func (r *reservations) busy(id string, n int, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[reservedVersion]time.Time{}
	}
	k := reservedVersion{id, n}
	prev, ok := r.last[k]
	r.last[k] = now
	return ok && now.Sub(prev) < busyWithin
}

type reservedVersion struct {
	id string
	n  int
}

// take uses one reserved use of version n of key id, if there is one.
func (r *reservations) take(id string, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := reservedVersion{id, n}
	if r.left[k] == 0 {
		return false
	}
	r.left[k]--
	return true
}

func (r *reservations) add(id string, n int, uses int64) {
	if uses <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left == nil {
		r.left = map[reservedVersion]int64{}
	}
	r.left[reservedVersion{id, n}] += uses
}

// checkUse checks v's state and, for limited operations, its usage.
func checkUse(k *Key, v *Version, s useSpec) error {
	if !slices.Contains(s.states, v.State) {
		return fmt.Errorf("%w: %s/v%d is %s, cannot %s", ErrState, k.ID, v.Number, v.State, s.op)
	}
	if s.limited && k.UsageLimit > 0 && v.Usage >= k.UsageLimit {
		return fmt.Errorf("%w: %s/v%d was used %d times (limit %d)", ErrUsageLimit, k.ID, v.Number, v.Usage, k.UsageLimit)
	}
	return nil
}

// afterUse rotates k once the version just used has reached the usage
// limit. A failed rotation is not the caller's failure (its operation
// succeeded); the version then refuses further use with ErrUsageLimit and
// the next request for the active version tries to rotate again.
func (m *Manager) afterUse(ctx context.Context, k *Key, v Version, s useSpec) {
	if s.limited && k.UsageLimit > 0 && v.Usage >= k.UsageLimit && v.State == StateActive {
		_, _ = m.rotateFrom(ctx, k.ID, v.Number, "usage-limit")
	}
}

// purposeIs returns a purpose check that accepts keys of purpose p only.
func purposeIs(p Purpose, op string) func(*Key) error {
	return func(k *Key) error {
		if k.Purpose != p {
			return fmt.Errorf("%w: %s is a %s key, cannot %s for %s", ErrPurpose, k.ID, k.Purpose, op, p)
		}
		return nil
	}
}

// selfRecording reports whether k's successful uses leave their own
// record and are therefore not recorded as key.used events: each
// signature of an audit-checkpoint key is a checkpoint, stored with the
// log it signs and copied to its anchors. Recording it in that log would
// add an event after every checkpoint, which the next checkpoint would
// have to cover, and so on without end; and the last checkpoint at
// shutdown, signed once the log has stopped taking events, could not be
// signed at all. Refusals and failures of such keys are still recorded.
func selfRecording(k *Key) bool { return k.Purpose == PurposeAuditCheckpoint }
