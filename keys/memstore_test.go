package keys_test

import (
	"testing"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keys.Store { return keys.NewMemStore() })
}
