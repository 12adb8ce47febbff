package auditlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// TestAnchoredCheckpoints: FirstAnchored picks the first checkpoint that
// covers an index and has an anchor, AnchoredSize the last anchored
// checkpoint's size, and the two agree on which records are anchored.
func TestAnchoredCheckpoints(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Checkpoints of sizes 2, 5, 9 and 12; 5 and 9 are anchored.
	var cps []auditlog.Checkpoint
	for _, n := range []int64{2, 5, 9, 12} {
		c := auditlog.Checkpoint{Size: n, Note: []byte{byte(n)}, Time: t0}
		if err := s.AddCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c)
	}
	for _, n := range []int64{5, 9} {
		if err := s.AddAnchor(ctx, auditlog.Anchor{Size: n, Kind: "sink", Name: "test", Data: []byte("x"), Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		index int64
		want  int64 // the checkpoint's size, 0 for none
	}{{0, 5}, {1, 5}, {4, 5}, {5, 9}, {8, 9}, {9, 0}, {11, 0}, {20, 0}}
	size, err := auditlog.AnchoredSize(ctx, s, cps)
	if err != nil || size != 9 {
		t.Fatalf("AnchoredSize = %d, %v; want 9", size, err)
	}
	for _, tt := range tests {
		cp, as, found, err := auditlog.FirstAnchored(ctx, s, cps, tt.index)
		if err != nil {
			t.Fatal(err)
		}
		if found != (tt.want != 0) || cp.Size != tt.want || found != (len(as) > 0) {
			t.Errorf("FirstAnchored(%d) = size %d, %d anchors, found %v; want size %d", tt.index, cp.Size, len(as), found, tt.want)
		}
		if found != (tt.index < size) {
			t.Errorf("index %d: FirstAnchored found %v but AnchoredSize is %d", tt.index, found, size)
		}
	}
	if size, err := auditlog.AnchoredSize(ctx, s, cps[:1]); err != nil || size != 0 {
		t.Errorf("AnchoredSize without anchored checkpoints = %d, %v; want 0", size, err)
	}
}
