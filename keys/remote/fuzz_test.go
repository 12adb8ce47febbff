package remote_test

import (
	"testing"

	"github.com/signet-pki/signet/keys/remote"
)

// FuzzDecodeRequest feeds arbitrary bodies to every operation's decoder:
// it never panics, and what it accepts respects the limits.
func FuzzDecodeRequest(f *testing.F) {
	ops := []string{remote.OpInfo, remote.OpGenerate, remote.OpGenerateSession, remote.OpPublic, remote.OpSign,
		remote.OpDestroy, remote.OpWrap, remote.OpUnwrap, remote.OpMAC, remote.OpEnrol, "nope"}
	seeds := []string{
		`{}`, `{"handle":"h","digest":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","hash":5}`,
		`{"algorithm":"ecdsa-p256","label":"k/v1"}`, `{"handle":"h","data":"AAAA","aad":"AA=="}`,
		`{"handle":"h","digest":"AA==","pss":true,"pss_salt_length":-1,"hash":5}`,
		`{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","time":1,"proof":"AA=="}`,
		`{"handle":"h"} {}`, `[1,2]`, `null`, `{"handle":1}`, `{"hash":99999999999}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		r, err := remote.DecodeRequest(name, body)
		if err != nil {
			if r != nil {
				t.Fatal("a request returned with an error")
			}
			return
		}
		for _, b := range [][]byte{r.Digest, r.Data, r.AAD, r.Nonce, r.Proof} {
			if len(b) > remote.MaxData {
				t.Fatalf("accepted a field of %d bytes", len(b))
			}
		}
		if name == remote.OpSign && (r.Handle == "" || len(r.Digest) == 0) {
			t.Fatal("accepted a sign request without handle or digest")
		}
		if r.Hash != 0 && (!r.Hash.Available() || r.Hash.Size() != len(r.Digest)) {
			t.Fatal("accepted a digest that does not match its hash")
		}
	})
}
