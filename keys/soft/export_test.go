package soft

import (
	"context"
	"crypto"
)

// PrivateKeyForTest returns the private key behind handle h. It exists in
// test builds only, to check that nothing else prints it.
func PrivateKeyForTest(ctx context.Context, b *Backend, h string) (crypto.Signer, error) {
	s, err := b.Signer(ctx, h)
	if err != nil {
		return nil, err
	}
	return s.(*signer).key, nil
}
