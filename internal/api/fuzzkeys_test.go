package api_test

import (
	"context"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
)

// emptyKeys is a KeyStore without keys.
type emptyKeys struct{}

func (emptyKeys) CreateKey(context.Context, accounts.APIKey) error { return nil }
func (emptyKeys) KeyByHash(context.Context, [32]byte) (accounts.APIKey, error) {
	return accounts.APIKey{}, accounts.ErrNoRecord
}
func (emptyKeys) Keys(context.Context, string) ([]accounts.APIKey, error) { return nil, nil }
func (emptyKeys) RevokeKey(context.Context, string, string, time.Time) error {
	return accounts.ErrNoRecord
}
