package accounts

import (
	"time"

	"github.com/signet-pki/signet/internal/identity/admin"
)

// ReviewKeys describes keys as service accounts of an access review.
func ReviewKeys(keys []APIKey) []admin.ReviewKey {
	at := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	out := make([]admin.ReviewKey, len(keys))
	for i, k := range keys {
		out[i] = admin.ReviewKey{ID: k.ID, Name: k.Name, Roles: k.Roles, Actions: k.Actions, Owner: k.Owner,
			CreatedAt: k.CreatedAt, ExpiresAt: at(k.ExpiresAt), LastUsedAt: at(k.LastUsedAt), RevokedAt: at(k.RevokedAt)}
	}
	return out
}
