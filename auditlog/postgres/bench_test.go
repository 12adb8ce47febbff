package postgres

import (
	"fmt"
	"testing"

	"github.com/signet-pki/signet/auditlog/internal/logbench"
)

// BenchmarkAppend measures durable appends/s through auditlog.Log with 1, 8
// and 64 concurrent appenders on the throwaway cluster (fsync on,
// synchronous_commit on; BENCHMARKS.md):
//
//	go test -run '^$' -bench Append -benchtime 20000x ./auditlog/postgres
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			s, _ := openTemp(b)
			logbench.Appends(b, s, n)
		})
	}
}
