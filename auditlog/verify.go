package auditlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A TamperKind names how a log was altered.
type TamperKind string

// The kinds of tampering [Verify] tells apart.
const (
	// Modified: a record's leaf (or a stored tree hash) changed.
	Modified TamperKind = "modified"
	// Deleted: a record is missing.
	Deleted TamperKind = "deleted"
	// Inserted: a record was added among the existing ones.
	Inserted TamperKind = "inserted"
	// Reordered: records changed places.
	Reordered TamperKind = "reordered"
	// Truncated: records covered by a checkpoint are gone from the end.
	Truncated TamperKind = "truncated"
	// Forked: history was rewritten and re-signed with another key, or
	// two checkpoints (or the reference) disagree about it.
	Forked TamperKind = "forked/re-signed"
	// RolledBack: the storage is an older, self-consistent state than a
	// checkpoint held elsewhere.
	RolledBack TamperKind = "rolled back"
	// BadAnchor: an anchor does not vouch for its checkpoint.
	BadAnchor TamperKind = "bad anchor"
)

// ErrTampered is wrapped by every [TamperError].
var ErrTampered = errors.New("auditlog: log was tampered with")

// A TamperError reports the first bad index found and the kind of
// tampering.
type TamperError struct {
	Kind   TamperKind
	Index  int64
	Detail string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("auditlog: %s at index %d: %s", e.Kind, e.Index, e.Detail)
}

// Unwrap returns [ErrTampered].
func (e *TamperError) Unwrap() error { return ErrTampered }

func tampered(kind TamperKind, index int64, format string, a ...any) *TamperError {
	return &TamperError{Kind: kind, Index: index, Detail: fmt.Sprintf(format, a...)}
}

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// Verifier is the audit checkpoint key. Required.
	Verifier note.Verifier
	// Retired are earlier checkpoint keys (before a rotation): a
	// checkpoint signed by any of them is accepted too.
	Retired []note.Verifier
	// Origin, if set, is the origin every checkpoint must carry.
	Origin string
	// Reference is a checkpoint held outside the storage (from the
	// write-once sink, a witness or a user); a storage older than it is
	// rolled back, one that disagrees with it is forked.
	Reference *Checkpoint
	// CheckAnchor, if set, checks each stored anchor of each checkpoint.
	CheckAnchor func(Anchor, Checkpoint) error
	// ChunkSize is how many records are read at a time (default 8192).
	ChunkSize int
}

// A VerifyResult summarizes a successful verification.
type VerifyResult struct {
	// Size is the number of records verified.
	Size int64
	// Checkpoints and Anchors count what was checked.
	Checkpoints, Anchors int
	// Latest is the last checkpoint's tree head (zero if none).
	Latest TreeHead
	// Unsigned counts the records after the last checkpoint, which only
	// the stored hashes vouch for until the next checkpoint.
	Unsigned int64
}

// Verify checks a whole log offline: it recomputes every leaf hash and the
// tree from the records (streaming in chunks), compares them with the
// stored hashes, checks every checkpoint's signature and root, the
// consistency of consecutive checkpoints (RFC 6962, Section 2.1.2), the
// reference checkpoint and each anchor. Tampering is reported as a
// *[TamperError] naming the first bad index and the kind; other failures
// (storage errors) as plain errors.
func Verify(ctx context.Context, s Storage, opts VerifyOptions) (*VerifyResult, error) {
	if opts.Verifier == nil {
		return nil, errors.New("auditlog: verify: no verifier")
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 8192
	}
	v := &verifier{ctx: ctx, s: s, opts: opts,
		keys: note.VerifierList(append([]note.Verifier{opts.Verifier}, opts.Retired...)...)}
	return v.run()
}

type verifier struct {
	ctx  context.Context
	s    Storage
	opts VerifyOptions
	keys note.Verifiers // opts.Verifier and opts.Retired

	heads   []TreeHead   // checkpoints with good signatures, in order
	cps     []Checkpoint // their stored form
	sigErr  *TamperError // first checkpoint not signed by the key
	tree    []tlog.Hash  // recomputed stored hashes
	records int64
}

func (v *verifier) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(v.tree)) {
				return nil, fmt.Errorf("auditlog: hash %d: %w", x, ErrNotFound)
			}
			out[i] = v.tree[x]
		}
		return out, nil
	})
}

func (v *verifier) run() (*VerifyResult, error) {
	if err := v.checkpoints(); err != nil {
		return nil, err
	}
	size, err := v.s.Size(v.ctx)
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: %w", err)
	}
	if te, err := v.walk(size); err != nil || te != nil {
		return nil, errOrTamper(err, te)
	}
	if v.sigErr != nil {
		return nil, v.sigErr
	}
	if te, err := v.roots(); err != nil || te != nil {
		return nil, errOrTamper(err, te)
	}
	if te, err := v.reference(); err != nil || te != nil {
		return nil, errOrTamper(err, te)
	}
	res := &VerifyResult{Size: v.records, Checkpoints: len(v.heads)}
	if te, err := v.anchors(res); err != nil || te != nil {
		return nil, errOrTamper(err, te)
	}
	if len(v.heads) > 0 {
		res.Latest = v.heads[len(v.heads)-1]
		res.Unsigned = v.records - res.Latest.Size
	} else {
		res.Unsigned = v.records
	}
	return res, nil
}

func errOrTamper(err error, te *TamperError) error {
	if err != nil {
		return err
	}
	return te
}

// checkpoints opens every stored checkpoint with the verifier. The first
// one signed by another key marks a fork at the size of the last good one.
func (v *verifier) checkpoints() error {
	cps, err := v.s.Checkpoints(v.ctx)
	if err != nil {
		return fmt.Errorf("auditlog: verify: %w", err)
	}
	var prev int64
	for _, cp := range cps {
		th, err := openCheckpoint(cp.Note, v.keys, v.opts.Origin)
		if err != nil || th.Size != cp.Size || (len(v.heads) > 0 && th.Size <= prev) {
			if err == nil {
				err = fmt.Errorf("stored as size %d after %d", cp.Size, prev)
			}
			if v.sigErr == nil {
				v.sigErr = tampered(Forked, prev, "checkpoint of size %d: %v", cp.Size, err)
			}
			continue
		}
		if v.sigErr != nil {
			continue // a good signature after a bad one is still after the fork
		}
		v.heads = append(v.heads, th)
		v.cps = append(v.cps, cp)
		prev = th.Size
	}
	return nil
}

// walk streams the records, checks their indexes, recomputes the tree and
// compares it with the stored hashes.
func (v *verifier) walk(size int64) (*TamperError, error) {
	end := size
	if n := len(v.heads); n > 0 && v.heads[n-1].Size > end {
		end = v.heads[n-1].Size
	}
	v.tree = make([]tlog.Hash, 0, tlog.StoredHashCount(end))
	r := v.reader()
	var next int64
	for start := int64(0); ; start += int64(v.opts.ChunkSize) {
		recs, err := v.s.Records(v.ctx, start, start+int64(v.opts.ChunkSize))
		if err != nil {
			return nil, fmt.Errorf("auditlog: verify: records: %w", err)
		}
		if len(recs) == 0 && start >= end {
			break
		}
		hdrs := parseHeaders(recs)
		chunkStart := next
		for _, rec := range recs {
			if rec.Index > next {
				return tampered(Deleted, next, "records jump from index %d to %d", next-1, rec.Index), nil
			}
			if rec.Index < next {
				return tampered(Inserted, rec.Index, "a second record with index %d (id %s)", rec.Index, rec.ID), nil
			}
			h := tlog.RecordHash(rec.Leaf)
			hs, err := tlog.StoredHashesForRecordHash(next, h, r)
			if err != nil {
				return nil, fmt.Errorf("auditlog: verify: %w", err)
			}
			v.tree = append(v.tree, hs...)
			next++
		}
		if te, err := v.compareStored(chunkStart, next); err != nil || te != nil {
			return te, err
		}
		for i, rec := range recs {
			hd := hdrs[i]
			if hd.err != nil {
				return tampered(Modified, rec.Index, "leaf: %v", hd.err), nil
			}
			if hd.h.Index != rec.Index || hd.h.ID != rec.ID || hd.h.Type != rec.Type || hd.h.Tenant != rec.Tenant || hd.h.Envelope != rec.Envelope {
				return v.classify(rec.Index)
			}
			if i > 0 && hd.h.Time.Before(hdrs[i-1].h.Time) {
				return v.classify(rec.Index - 1)
			}
		}
	}
	v.records = next
	return nil, nil
}

type header struct {
	h   LeafHeader
	err error
}

// parseHeaders decodes the leaf headers of recs on every CPU.
func parseHeaders(recs []Record) []header {
	out := make([]header, len(recs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(recs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(recs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i].h, out[i].err = ParseLeafHeader(recs[i].Leaf)
			}
		}()
	}
	wg.Wait()
	return out
}

// compareStored compares the recomputed hashes that leaves [lo, hi) added
// with the stored ones.
func (v *verifier) compareStored(lo, hi int64) (*TamperError, error) {
	a, b := tlog.StoredHashIndex(0, lo), tlog.StoredHashIndex(0, hi)
	idx := make([]int64, 0, b-a)
	for x := a; x < b; x++ {
		idx = append(idx, x)
	}
	stored, err := v.s.ReadHashes(v.ctx, idx)
	if errors.Is(err, ErrNotFound) {
		// Some hashes are missing: compare one by one, in order.
		for _, x := range idx {
			hs, err := v.s.ReadHashes(v.ctx, []int64{x})
			level, n := tlog.SplitStoredHashIndex(x)
			if err != nil || hs[0] != v.tree[x] {
				if level > 0 {
					return tampered(Modified, n<<level, "stored tree hash at level %d differs from the records", level), nil
				}
				return v.classify(n)
			}
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: stored hashes: %w", err)
	}
	for i, h := range stored {
		if h != v.tree[a+int64(i)] {
			level, n := tlog.SplitStoredHashIndex(a + int64(i))
			if level > 0 {
				return tampered(Modified, n<<level, "stored tree hash at level %d differs from the records", level), nil
			}
			return v.classify(n)
		}
	}
	return nil, nil
}

// classify names the tampering first seen at position p, comparing the
// records around it with the stored leaf hashes and their own indexes.
func (v *verifier) classify(p int64) (*TamperError, error) {
	recs, err := v.s.Records(v.ctx, p, p+2)
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: %w", err)
	}
	storedLeaf := func(i int64) (tlog.Hash, bool) {
		hs, err := v.s.ReadHashes(v.ctx, []int64{tlog.StoredHashIndex(0, i)})
		if err != nil {
			return tlog.Hash{}, false
		}
		return hs[0], true
	}
	if len(recs) == 0 || recs[0].Index != p {
		return tampered(Deleted, p, "record missing"), nil
	}
	hp := tlog.RecordHash(recs[0].Leaf)
	if len(recs) > 1 {
		if s, ok := storedLeaf(p); ok && tlog.RecordHash(recs[1].Leaf) == s {
			return tampered(Inserted, p, "record %s pushed the original record %d up by one", recs[0].ID, p), nil
		}
	}
	if s, ok := storedLeaf(p + 1); ok && s == hp {
		return tampered(Deleted, p, "record %d holds what was stored at %d", p, p+1), nil
	}
	hd, err := ParseLeafHeader(recs[0].Leaf)
	if err == nil && hd.Index != p && hd.Index >= 0 {
		if s, ok := storedLeaf(hd.Index); ok && s == hp {
			return tampered(Reordered, min(p, hd.Index), "record %d holds the event logged at %d", p, hd.Index), nil
		}
		if hd.Index == p+1 {
			return tampered(Deleted, p, "record %d holds the event logged at %d", p, hd.Index), nil
		}
		if hd.Index < p {
			return tampered(Inserted, p, "record %d holds the event logged at %d", p, hd.Index), nil
		}
		return tampered(Reordered, p, "record %d holds the event logged at %d", p, hd.Index), nil
	}
	if err == nil && hd.ID != recs[0].ID {
		return tampered(Modified, p, "record id %s differs from the leaf's %s", recs[0].ID, hd.ID), nil
	}
	if r := recs[0]; err == nil && (hd.Tenant != r.Tenant || hd.Type != r.Type || hd.Envelope != r.Envelope) {
		return tampered(Modified, p, "stored tenant %q, type %q, envelope %q differ from the leaf's %q, %q, %q",
			r.Tenant, r.Type, r.Envelope, hd.Tenant, hd.Type, hd.Envelope), nil
	}
	return tampered(Modified, p, "leaf hash differs from the tree"), nil
}

// roots checks every good checkpoint's root against the recomputed tree,
// the consistency of consecutive checkpoints, and truncation.
func (v *verifier) roots() (*TamperError, error) {
	r := v.reader()
	var prev TreeHead
	for _, th := range v.heads {
		if th.Size > v.records {
			return tampered(Truncated, v.records, "storage holds %d records, checkpoint signed %d", v.records, th.Size), nil
		}
		root, err := tlog.TreeHash(th.Size, r)
		if err != nil {
			return nil, fmt.Errorf("auditlog: verify: %w", err)
		}
		if root != th.Hash {
			p, err := v.firstMisplaced(prev.Size, th.Size)
			if err != nil {
				return nil, err
			}
			if p >= 0 {
				return v.classify(p)
			}
			return tampered(Modified, prev.Size, "records between %d and %d differ from the checkpoint of size %d (tree hashes were rewritten)", prev.Size, th.Size, th.Size), nil
		}
		if prev.Size > 0 {
			proof, err := tlog.ProveTree(th.Size, prev.Size, r)
			if err != nil {
				return nil, fmt.Errorf("auditlog: verify: %w", err)
			}
			if err := CheckConsistency(prev, th, proof); err != nil {
				return tampered(Forked, prev.Size, "checkpoints %d and %d: %v", prev.Size, th.Size, err), nil
			}
		}
		prev = th
	}
	return nil, nil
}

// firstMisplaced returns the first position in [lo, hi) whose leaf names
// another index, or -1.
func (v *verifier) firstMisplaced(lo, hi int64) (int64, error) {
	for start := lo; start < hi; start += int64(v.opts.ChunkSize) {
		recs, err := v.s.Records(v.ctx, start, min(hi, start+int64(v.opts.ChunkSize)))
		if err != nil {
			return 0, fmt.Errorf("auditlog: verify: %w", err)
		}
		for _, rec := range recs {
			h, err := ParseLeafHeader(rec.Leaf)
			if err != nil || h.Index != rec.Index {
				return rec.Index, nil
			}
		}
	}
	return -1, nil
}

// reference checks the storage against a checkpoint held elsewhere.
func (v *verifier) reference() (*TamperError, error) {
	if v.opts.Reference == nil {
		return nil, nil
	}
	ref, err := openCheckpoint(v.opts.Reference.Note, v.keys, v.opts.Origin)
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: reference checkpoint: %w", err)
	}
	var last int64
	if n := len(v.heads); n > 0 {
		last = v.heads[n-1].Size
	}
	if ref.Size > v.records {
		return tampered(RolledBack, v.records, "storage holds %d records and checkpoints up to %d, the reference checkpoint signed %d", v.records, last, ref.Size), nil
	}
	root, err := tlog.TreeHash(ref.Size, v.reader())
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: %w", err)
	}
	if root != ref.Hash {
		var lo int64
		for _, th := range v.heads {
			if th.Size < ref.Size {
				lo = th.Size
			}
		}
		return tampered(Forked, lo, "the reference checkpoint of size %d has another root than the stored tree", ref.Size), nil
	}
	return nil, nil
}

// anchors checks the anchors of every checkpoint.
func (v *verifier) anchors(res *VerifyResult) (*TamperError, error) {
	for _, cp := range v.cps {
		as, err := v.s.Anchors(v.ctx, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("auditlog: verify: anchors: %w", err)
		}
		for _, a := range as {
			res.Anchors++
			if v.opts.CheckAnchor == nil {
				continue
			}
			if err := v.opts.CheckAnchor(a, cp); err != nil {
				return tampered(BadAnchor, cp.Size, "%s anchor %s of checkpoint %d: %v", a.Kind, a.Name, cp.Size, err), nil
			}
		}
	}
	return nil, nil
}
