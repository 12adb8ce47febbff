package ca_test

import (
	"testing"

	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ca/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) ca.Store { return ca.NewMemStore() })
}

func TestMemStoreSealed(t *testing.T) {
	storetest.RunSealed(t, func(*testing.T) (ca.Store, func(*testing.T) []byte) { return ca.NewMemStore(), nil })
}
