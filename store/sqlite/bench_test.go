package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/store/internal/logbench"
)

// BenchmarkAppend measures durable appends/s through auditlog.Log with 1, 8
// and 64 concurrent appenders (BENCHMARKS.md):
//
//	go test -run '^$' -bench Append -benchtime 20000x ./store/sqlite
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "audit.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			logbench.Appends(b, s, n)
		})
	}
}
