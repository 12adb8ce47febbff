package identity

import (
	"context"

	"github.com/signet-pki/signet/keys/dataseal"
)

// A KeyRing gives the key-encryption key of one object of a tenant, under
// which a user's secrets (their TOTP seed) are sealed with [dataseal]:
// the same contract as workflow.KeyRing, which this package cannot
// import, so that the server passes one value to both. Each object has a
// data key of its own, wrapped by the tenant's key in custody; shredding
// it makes what was sealed under it unreadable. keys/atrest implements it.
type KeyRing interface {
	// ObjectKEK returns the KEK of object in tenant. With create set, a
	// missing data key is made; without, a missing one is an error.
	ObjectKEK(ctx context.Context, tenant, object string, create bool) (dataseal.KEK, error)
	// Shred destroys the data key of object in tenant; shredding a
	// missing key is not an error.
	Shred(ctx context.Context, tenant, object string) error
}

// UserObject names the [KeyRing] object of user id's secrets: "user:<id>".
func UserObject(id string) string { return "user:" + id }
