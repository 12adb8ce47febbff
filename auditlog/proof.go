package auditlog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof returns the RFC 6962 audit path (Section 2.1.1) of the
// record at index in the tree of the given size, read from s.
func InclusionProof(ctx context.Context, s Storage, index, size int64) (tlog.RecordProof, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("auditlog: inclusion proof: index %d outside tree of size %d", index, size)
	}
	p, err := tlog.ProveRecord(size, index, hashReader(ctx, s))
	if err != nil {
		return nil, fmt.Errorf("auditlog: inclusion proof: %w", err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof (Section 2.1.2)
// between the trees of sizes oldSize and newSize, read from s.
func ConsistencyProof(ctx context.Context, s Storage, oldSize, newSize int64) (tlog.TreeProof, error) {
	if oldSize < 1 || oldSize > newSize {
		return nil, fmt.Errorf("auditlog: consistency proof: sizes %d and %d", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, hashReader(ctx, s))
	if err != nil {
		return nil, fmt.Errorf("auditlog: consistency proof: %w", err)
	}
	return p, nil
}

// CheckConsistency verifies that the tree head newer extends older, with a
// consistency proof.
func CheckConsistency(older, newer TreeHead, proof tlog.TreeProof) error {
	if older.Size == 0 {
		return nil
	}
	if older.Size > newer.Size {
		return fmt.Errorf("%w: size %d after %d", ErrInconsistent, newer.Size, older.Size)
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return fmt.Errorf("%w: %v", ErrInconsistent, err)
	}
	return nil
}

// NewReceipt returns the c2sp.org/tlog-proof receipt of the record at
// index against the stored checkpoint cp, which must cover it.
func NewReceipt(ctx context.Context, s Storage, index int64, cp Checkpoint) (*Receipt, error) {
	p, err := InclusionProof(ctx, s, index, cp.Size)
	if err != nil {
		return nil, err
	}
	return &Receipt{Index: index, Proof: p, Checkpoint: cp.Note}, nil
}

// ReceiptByID returns the receipt of the event with the given ID against
// the latest stored checkpoint, which must already cover it.
func ReceiptByID(ctx context.Context, s Storage, id string) (*Receipt, Record, error) {
	rec, err := s.RecordByID(ctx, id)
	if err != nil {
		return nil, Record{}, fmt.Errorf("auditlog: event %s: %w", id, err)
	}
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		return nil, Record{}, fmt.Errorf("auditlog: checkpoints: %w", err)
	}
	if len(cps) == 0 || cps[len(cps)-1].Size <= rec.Index {
		return nil, Record{}, fmt.Errorf("auditlog: event %s at index %d: no checkpoint covers it yet: %w", id, rec.Index, ErrNotFound)
	}
	r, err := NewReceipt(ctx, s, rec.Index, cps[len(cps)-1])
	return r, rec, err
}
