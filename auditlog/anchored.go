package auditlog

import (
	"context"
	"fmt"
)

// An AnchorReader reads the anchors of stored checkpoints (every [Storage]
// is one).
type AnchorReader interface {
	Anchors(ctx context.Context, size int64) ([]Anchor, error)
}

// FirstAnchored returns the first of cps (stored checkpoints by increasing
// size, as [Storage.Checkpoints] returns them) that covers the record at
// index (its Size is greater than index) and has at least one anchor in
// r, with its anchors. found is false when no such checkpoint exists yet:
// the record is not anchored.
func FirstAnchored(ctx context.Context, r AnchorReader, cps []Checkpoint, index int64) (cp Checkpoint, anchors []Anchor, found bool, err error) {
	for _, c := range cps {
		if c.Size <= index {
			continue
		}
		as, err := r.Anchors(ctx, c.Size)
		if err != nil {
			return Checkpoint{}, nil, false, fmt.Errorf("auditlog: anchors of checkpoint %d: %w", c.Size, err)
		}
		if len(as) > 0 {
			return c, as, true, nil
		}
	}
	return Checkpoint{}, nil, false, nil
}

// AnchoredSize returns the size of the last of cps (by increasing size)
// that has at least one anchor in r, or 0 if none has. A record is
// anchored — [FirstAnchored] finds a checkpoint for it — exactly when its
// index is below this size: a checkpoint commits to every record before
// its size, so the last anchored one covers whatever an earlier one does.
func AnchoredSize(ctx context.Context, r AnchorReader, cps []Checkpoint) (int64, error) {
	for i := len(cps) - 1; i >= 0; i-- {
		as, err := r.Anchors(ctx, cps[i].Size)
		if err != nil {
			return 0, fmt.Errorf("auditlog: anchors of checkpoint %d: %w", cps[i].Size, err)
		}
		if len(as) > 0 {
			return cps[i].Size, nil
		}
	}
	return 0, nil
}
