package soft_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/signet-pki/signet/keys/soft"
)

// FuzzParseMasterKey checks that ParseMasterKey never panics, accepts only
// 32-byte keys, and that an accepted key re-encodes and parses to itself.
func FuzzParseMasterKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := soft.ParseMasterKey(s)
		if err != nil {
			return
		}
		if len(k) != soft.MasterKeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		k2, err := soft.ParseMasterKey(base64.StdEncoding.EncodeToString(k))
		if err != nil || !bytes.Equal(k, k2) {
			t.Fatalf("round trip: %x, %v", k2, err)
		}
	})
}
