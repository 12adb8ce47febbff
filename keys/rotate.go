package keys

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// errConflict means another rotation won the race.
var errConflict = errors.New("keys: concurrent rotation")

// Rotate generates a new active version of key id; the previous active
// version becomes verify-only (decrypt-only for wrapping keys), so that it
// keeps verifying and unwrapping but no longer signs or wraps. It also
// gives a key whose versions are all revoked a fresh active version.
func (m *Manager) Rotate(ctx context.Context, id string) (KeyVersionRef, error) {
	return m.rotateFrom(ctx, id, 0, "manual")
}

// RotateDue rotates every key whose active version is older than its
// RotateAfter age at now, and returns the new versions. A scheduler calls
// it periodically. It carries on past failures and returns them joined.
func (m *Manager) RotateDue(ctx context.Context, now time.Time) ([]KeyVersionRef, error) {
	ks, err := m.store.List(ctx, "*")
	if err != nil {
		return nil, err
	}
	var (
		out  []KeyVersionRef
		errs []error
	)
	for _, k := range ks {
		a := k.Active()
		if k.RotateAfter <= 0 || a == nil || now.Before(a.Created.Add(k.RotateAfter)) {
			continue
		}
		ref, err := m.rotateFrom(ctx, k.ID, a.Number, "age")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ref)
	}
	return out, errors.Join(errs...)
}

// rotateFrom rotates key id if its active version is still from (any
// version if from is 0); otherwise another caller rotated it already and
// the current active version is returned.
func (m *Manager) rotateFrom(ctx context.Context, id string, from int, trigger string) (KeyVersionRef, error) {
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return KeyVersionRef{}, m.deny(ctx, opRotate, &Key{ID: id}, 0, err)
	}
	if from != 0 {
		if a := k.Active(); a == nil || a.Number != from {
			if a == nil {
				return KeyVersionRef{}, fmt.Errorf("%w: %s has no active version", ErrState, id)
			}
			return KeyVersionRef{KeyID: id, Version: a.Number}, nil
		}
	}
	last := k.Versions[len(k.Versions)-1].Number
	n := last + 1
	details := map[string]string{"trigger": trigger}
	if a := k.Active(); a != nil {
		details["previous_version"] = strconv.Itoa(a.Number)
	}
	b, err := m.backend(k)
	if err != nil {
		return KeyVersionRef{}, m.deny(ctx, opRotate, k, n, err)
	}
	if err := m.attempt(ctx, opRotate, k, n, details); err != nil {
		return KeyVersionRef{}, err
	}
	v, err := m.generate(ctx, b, k, n)
	if err != nil {
		return KeyVersionRef{}, m.fail(ctx, opRotate, k, n, err)
	}
	err = m.store.Update(ctx, id, func(c *Key) error {
		if c.Versions[len(c.Versions)-1].Number != last {
			return errConflict
		}
		for i := range c.Versions {
			if c.Versions[i].State == StateActive {
				c.Versions[i].State = StateVerifyOnly
			}
		}
		c.Versions = append(c.Versions, v)
		return nil
	})
	if err != nil {
		_ = b.Destroy(ctx, v.Handle)
		return KeyVersionRef{}, m.fail(ctx, opRotate, k, n, fmt.Errorf("keys: rotate %s: %w", id, err))
	}
	return KeyVersionRef{KeyID: id, Version: n}, nil
}
