package atrest_test

import (
	"bytes"
	"testing"

	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/atrest/storetest"
)

// TestMemStoreConformance runs the store suite on the memory store (one
// store as both nodes).
func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.DB {
		s := atrest.NewMemStore()
		return storetest.DB{A: s, B: s, Holds: func(t *testing.T, b []byte) bool {
			page, err := s.ListDataKeys(t.Context(), "", atrest.Cursor{}, atrest.MaxPage)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page {
				if bytes.Contains(k.Wrapped, b) {
					return true
				}
			}
			return false
		}}
	})
}
