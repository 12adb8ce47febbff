package dataseal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/signet-pki/signet/keys/dataseal"
)

// TestText: the text form round-trips, is recognized by its prefix, and
// anything else is refused as malformed.
func TestText(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	kek := dataseal.NewAESKEK("1", key)
	ad := dataseal.AD{Tenant: "t", Object: "o", Field: "f"}
	s, err := dataseal.SealText(ctx, kek, ad, []byte("value"), rand.Reader)
	if err != nil || !dataseal.IsText(s) {
		t.Fatalf("SealText: %q, %v", s, err)
	}
	if pt, err := dataseal.OpenText(ctx, kek, ad, s); err != nil || string(pt) != "value" {
		t.Fatalf("OpenText: %q, %v", pt, err)
	}
	for _, bad := range []string{"", "value", "sealed:", "sealed:!!", s[:len(s)-2]} {
		if _, err := dataseal.OpenText(ctx, kek, ad, bad); err == nil {
			t.Errorf("OpenText(%q) succeeded", bad)
		} else if bad != s[:len(s)-2] && !errors.Is(err, dataseal.ErrMalformed) {
			t.Errorf("OpenText(%q): %v, want ErrMalformed", bad, err)
		}
	}
}
