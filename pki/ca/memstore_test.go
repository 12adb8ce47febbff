package ca_test

import (
	"testing"

	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ca/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.TestStore(t, func(*testing.T) ca.Store { return new(ca.MemoryStore) })
}
