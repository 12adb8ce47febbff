package api_test

import (
	"context"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// emptyKeys is a KeyStore without keys.
type emptyKeys struct{}

func (emptyKeys) CreateKey(context.Context, api.APIKey) error { return nil }
func (emptyKeys) KeyByHash(context.Context, [32]byte) (api.APIKey, error) {
	return api.APIKey{}, api.ErrNoRecord
}
func (emptyKeys) Keys(context.Context, string) ([]api.APIKey, error)         { return nil, nil }
func (emptyKeys) RevokeKey(context.Context, string, string, time.Time) error { return api.ErrNoRecord }
