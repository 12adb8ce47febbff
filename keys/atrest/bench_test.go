package atrest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// benchNode returns a node of a new world.
func benchNode(b *testing.B, cacheSize int) *atrest.Service {
	w := newWorld(b)
	return w.node(atrest.Config{CacheSize: cacheSize})
}

// BenchmarkObjectKEK opens one object's field (a 100-byte value): the
// KEK from the cache, the KEK unwrapped through key custody each time (no
// cache: the software backend, and an in-memory audit recorder, whose
// key.used events are aggregated), and raw dataseal with a KEK at hand,
// the floor.
func BenchmarkObjectKEK(b *testing.B) {
	ctx := context.Background()
	ad := dataseal.AD{Tenant: "t1", Object: "envelope:1", Field: "email"}
	value := bytes.Repeat([]byte("x"), 100)
	for _, c := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", atrest.NoCache}} {
		b.Run(c.name, func(b *testing.B) {
			s := benchNode(b, c.size)
			kek, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, true)
			if err != nil {
				b.Fatal(err)
			}
			sealed, err := dataseal.Seal(ctx, kek, ad, value, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				kek, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, false)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := dataseal.Open(ctx, kek, ad, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw-dataseal", func(b *testing.B) {
		kek := dataseal.NewAESKEK("1", bytes.Repeat([]byte{7}, 32))
		sealed, err := dataseal.Seal(ctx, kek, ad, value, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := dataseal.Open(ctx, kek, ad, sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create", func(b *testing.B) {
		s := benchNode(b, 0)
		i := 0
		for b.Loop() {
			i++
			if _, err := s.ObjectKEK(ctx, "t1", fmt.Sprintf("document:%d", i), true); err != nil {
				b.Fatal(err)
			}
		}
	})
}
