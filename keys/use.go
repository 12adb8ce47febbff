package keys

import (
	"context"
	"fmt"
	"slices"
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
	if err := m.attempt(ctx, s.op, k, v.Number, nil); err != nil {
		return nil, Version{}, nil, err
	}
	var counted Version
	err = m.store.Update(ctx, id, func(c *Key) error {
		cv := c.Version(v.Number)
		if cv == nil {
			return fmt.Errorf("%w: %s has no version %d", ErrNotFound, id, v.Number)
		}
		if err := checkUse(c, cv, s); err != nil {
			return err
		}
		cv.Usage++
		counted = *cv
		return nil
	})
	if err != nil {
		return nil, Version{}, nil, m.fail(ctx, s.op, k, v.Number, err)
	}
	return k, counted, b, nil
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
