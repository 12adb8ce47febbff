package logbench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

// An EnvelopeLog is what [FillEnvelopes] put in the log: the envelope
// that a benchmark reads, and how many events name it.
type EnvelopeLog struct {
	Tenant   string
	Envelope string
	Events   int
}

// Envelope layout of [FillEnvelopes]: four tenants take turns; nine events
// in ten name one of 50,000 background envelopes (20 events each in a
// million, each envelope's events spread over the whole log); one in ten
// names none (sign-ins and the like). The benchmark's envelope has 60
// events spread evenly through the log, and another tenant has an
// envelope with the same ID (30 events) that must not be returned.
const (
	tenants    = 4
	background = 50_000
	target     = 60
	decoys     = 30
)

// FillEnvelopes appends n (at least 100,000) realistic events to the
// empty s directly with [storetest.FillWith]: leaves of the size and shape
// the Log writes for [Event] (HMACed personal data, a sealed blob), with
// the envelopes laid out as described above. It returns the benchmark's
// envelope.
func FillEnvelopes(tb testing.TB, s auditlog.Storage, n int) EnvelopeLog {
	tb.Helper()
	if n < 100_000 {
		tb.Fatalf("FillEnvelopes: %d events, want at least 100000", n)
	}
	withEnv, sealed := leafFormat(tb, true)
	noEnv, _ := leafFormat(tb, false)
	want := EnvelopeLog{Tenant: "tenant-1", Envelope: "env-target", Events: target}
	tstride := n / target
	dstride := n / decoys
	storetest.FillWith(tb, s, n, func(i int, at time.Time) auditlog.Record {
		tenant := fmt.Sprintf("tenant-%d", i%tenants)
		env := fmt.Sprintf("env-%d", i%background)
		switch {
		case i%tstride == 7 && i/tstride < target:
			tenant, env = want.Tenant, want.Envelope
		case i%dstride == 11 && i/dstride < decoys:
			tenant, env = "tenant-2", want.Envelope
		case i%10 == 9:
			env = ""
		}
		id := fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i)
		ts := at.Format(time.RFC3339Nano)
		var leaf string
		if env == "" {
			leaf = fmt.Sprintf(noEnv, id, i, ts, tenant)
		} else {
			leaf = fmt.Sprintf(withEnv, id, i, ts, tenant, env)
		}
		return auditlog.Record{ID: id, Tenant: tenant, Type: string(auditlog.SignatureCreated), Envelope: env, Leaf: []byte(leaf), Sealed: sealed}
	})
	return want
}

// leafFormat returns a format for fmt.Sprintf of the leaf that the Log
// writes for [Event] (with or without an envelope), taking the event ID,
// index, time, tenant and envelope in that order, and the event's sealed
// values.
func leafFormat(tb testing.TB, envelope bool) (string, []byte) {
	tb.Helper()
	ctx := context.Background()
	m := auditlog.NewMemStore()
	l, err := auditlog.New(ctx, auditlog.Config{Storage: m, Keys: Keys()})
	if err != nil {
		tb.Fatal(err)
	}
	e := Event(1, 1)
	e.ID = "@ID@"
	e.Tenant = "@TENANT@"
	e.Subject.EnvelopeID = ""
	if envelope {
		e.Subject.EnvelopeID = "@ENVELOPE@"
	}
	if _, err := l.Append(ctx, e); err != nil {
		tb.Fatal(err)
	}
	if err := l.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
	rec, err := m.RecordByID(ctx, e.ID)
	if err != nil {
		tb.Fatal(err)
	}
	ts := rec.Time.UTC().Format(time.RFC3339Nano)
	f := strings.NewReplacer("%", "%%",
		`"@ID@"`, `"%[1]s"`, `"index":0`, `"index":%[2]d`, `"`+ts+`"`, `"%[3]s"`,
		`"@TENANT@"`, `"%[4]s"`, `"@ENVELOPE@"`, `"%[5]s"`).Replace(string(rec.Leaf))
	for _, p := range []string{"%[1]s", "%[2]d", "%[3]s", "%[4]s"} {
		if strings.Count(f, p) != 1 {
			tb.Fatalf("leaf template %s: %s appears %d times", f, p, strings.Count(f, p))
		}
	}
	if envelope != strings.Contains(f, "%[5]s") {
		tb.Fatalf("leaf template %s: envelope placeholder", f)
	}
	return f, rec.Sealed
}

// RunEnvelopeLookups runs, as sub-benchmarks of b, the ways a store can
// find env's events: through its index (EnvelopeRecords), by scan, which
// returns the records found, and by scanLeaves, which reads every leaf of
// the tenant (the floor of any scan) and returns how many it read.
func RunEnvelopeLookups(b *testing.B, s auditlog.Storage, env EnvelopeLog,
	scan func(ctx context.Context, tenant, envelope string) ([]auditlog.Record, error),
	scanLeaves func(ctx context.Context, tenant string) (int, error)) {
	ctx := context.Background()
	methods := []struct {
		name   string
		counts bool // the result is the envelope's events
		read   func() (int, error)
	}{
		{"index", true, func() (int, error) {
			recs, err := s.EnvelopeRecords(ctx, env.Tenant, env.Envelope)
			return len(recs), err
		}},
		{"scan", true, func() (int, error) {
			recs, err := scan(ctx, env.Tenant, env.Envelope)
			return len(recs), err
		}},
		{"scan-read", false, func() (int, error) { return scanLeaves(ctx, env.Tenant) }},
	}
	for _, m := range methods {
		b.Run(m.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				got, err := m.read()
				if err != nil {
					b.Fatal(err)
				}
				if m.counts && got != env.Events {
					b.Fatalf("%d records, want %d", got, env.Events)
				}
			}
		})
	}
}
