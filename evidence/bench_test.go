package evidence

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkVerify verifies the bundle of an envelope of ten recipients
// who each signed one document (BENCHMARKS.md: target under one second).
func BenchmarkVerify(b *testing.B) {
	fx := sharedFixtureWith(b, fixtureOptions{Recipients: 10, Documents: 1, TSAYears: 30})
	b.SetBytes(int64(len(fx.bundle)))
	for b.Loop() {
		rep, err := Verify(bytes.NewReader(fx.bundle), int64(len(fx.bundle)), VerifyOptions{Roots: fx.pki.roots, Now: time.Now})
		if err != nil || !rep.Valid() {
			b.Fatalf("%v %v", err, rep)
		}
	}
}
