package pki

import (
	"context"
	"fmt"
	"time"

	"github.com/signet-pki/signet/keys"
)

// CreateRoleKey is the first use of role r, for a [Store] that found no
// key recorded for it: it creates the key in m (label "server ROLE") and
// calls claim with its id. claim records the id unless the role has a key
// already, and returns the role's recorded key id either way (an INSERT …
// ON CONFLICT DO NOTHING, then a read). When several processes raced and
// another's key was recorded, the key created here is revoked (cessation
// of operation) and destroyed, so that one key only serves the role. If
// claim fails, the key is left as it is (it may have been recorded).
// CreateRoleKey returns the recorded id.
func CreateRoleKey(ctx context.Context, m *keys.Manager, r Role, claim func(keyID string) (string, error)) (string, error) {
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: r.Purpose, Algorithm: r.Algorithm, Tenant: r.Tenant, Label: "server " + r.Name})
	if err != nil {
		return "", err
	}
	id, err := claim(k.ID)
	if err != nil {
		// Whether k was recorded is unknown: it must stay usable.
		return "", err
	}
	if id != k.ID {
		if err := discard(ctx, m, k.ID); err != nil {
			return "", err
		}
	}
	return id, nil
}

// discard revokes and destroys version 1 of key id, unused.
func discard(ctx context.Context, m *keys.Manager, id string) error {
	if _, err := m.Revoke(ctx, id, 0, keys.ReasonCessationOfOperation, time.Time{}); err != nil {
		return fmt.Errorf("pki: discard unused key %s: %w", id, err)
	}
	if err := m.Destroy(ctx, id, 1); err != nil {
		return fmt.Errorf("pki: discard unused key %s: %w", id, err)
	}
	return nil
}
