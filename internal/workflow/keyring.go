package workflow

import (
	"context"

	"github.com/signet-pki/signet/keys/dataseal"
)

// A KeyRing gives the key-encryption key of one object of a tenant, under
// which what the workflow stores about that object (a document's content,
// an envelope's recipients) is sealed with [dataseal]. Each object has a
// data key of its own, wrapped by the tenant's key in custody; shredding
// an object destroys its data key, after which nothing sealed under it
// can be read again. keys/atrest implements it.
type KeyRing interface {
	// ObjectKEK returns the KEK of object in tenant. With create set, a
	// missing data key is made; without, a missing one is an error
	// (the object was never sealed, or was shredded).
	ObjectKEK(ctx context.Context, tenant, object string, create bool) (dataseal.KEK, error)
	// Shred destroys the data key of object in tenant; shredding a
	// missing key is not an error.
	Shred(ctx context.Context, tenant, object string) error
}
