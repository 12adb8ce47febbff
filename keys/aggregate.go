package keys

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// A SignerOption adjusts how a use of a key is recorded: by a signer
// returned by [Manager.Signer], or by [Manager.Wrap] and [Manager.Unwrap].
type SignerOption func(*signerOptions)

type signerOptions struct {
	// aggregate is the longest time one key.used event covers; zero
	// records every use on its own.
	aggregate time.Duration
}

// AggregateUses makes a signer record its uses in blocks, for a key that
// signs for anyone who asks (a time-stamp authority's, an OCSP
// responder's): the audit log then grows with time, not with requests.
// Given to [Manager.Wrap] or [Manager.Unwrap] it does the same for a
// wrapping key that wraps and unwraps on every request (a tenant's key of
// the data keys at rest); wraps and unwraps keep blocks of their own, so
// that each event's "operation" detail names the uses it reserves.
//
// Every use is still covered by a key.used event recorded before it. One
// event reserves a block of uses of the version for at most interval
// (details "uses_reserved" and "reserved_until") and reports how many
// uses this Manager made of the version's previous block
// ("previous_uses"); the uses of the block then sign without a record of
// their own. A block is sized on the version's recent use: one use after
// an interval without use (an occasional use is recorded on its own, as
// without this option), twice the previous block when that one was used
// up before its time, twice the uses of the previous interval otherwise,
// and never more than [MaxUseBlock]. A steady flood therefore adds one
// event per interval and key version, and a growing one a few more.
//
// The state, purpose and usage limit are checked before every use as
// without this option, so a revocation or rotation stops use at once. If
// the event reserving a block cannot be recorded, no use is made (fail
// closed); the uses already reserved before the audit log failed, at most
// one block, are still made. A process that stops with uses reserved and
// not made leaves them counted in its last event: the log may state more
// uses than were made, never fewer.
func AggregateUses(interval time.Duration) SignerOption {
	return func(o *signerOptions) { o.aggregate = interval }
}

// useOptions applies opts.
func useOptions(opts []SignerOption) signerOptions {
	var o signerOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// MaxUseBlock bounds the uses one key.used event of an [AggregateUses]
// signer reserves.
const MaxUseBlock = 1 << 16

// useBlocks are the reserved blocks of recorded uses of aggregating
// signers and wrapping calls, by operation and key version.
type useBlocks struct {
	mu sync.Mutex
	m  map[blockKey]*useBlock
}

// blockKey names the uses one block covers: one operation of one key
// version.
type blockKey struct {
	op string
	id string
	n  int
}

// useBlock is the current block of one key version.
type useBlock struct {
	mu    sync.Mutex
	size  int64     // uses the block's event reserved; 0 before the first
	used  int64     // uses taken from it
	until time.Time // end of the block
}

func (b *useBlocks) get(op, id string, n int) *useBlock {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[blockKey]*useBlock{}
	}
	k := blockKey{op, id, n}
	u := b.m[k]
	if u == nil {
		u = &useBlock{}
		b.m[k] = u
	}
	return u
}

// next returns the size of the block that follows u at now.
func (u *useBlock) next(now time.Time, interval time.Duration) int64 {
	var size int64
	switch {
	case u.size == 0 || !now.Before(u.until.Add(interval)):
		size = 1 // first use, or after a quiet interval
	case u.used >= u.size && now.Before(u.until):
		size = 2 * u.size // used up before its time
	default:
		size = 2 * u.used // expired: the rate of the last interval
	}
	return min(max(size, 1), MaxUseBlock)
}

// recordUse records, before it happens, a use of version n of k for
// spec s: an event of its own, or for an aggregating signer a use taken
// from the version's current block, or a new block's event when that one
// is used up or over. It MUST be called at most once per use, and the use
// MUST NOT happen if it returns an error.
func (m *Manager) recordUse(ctx context.Context, s useSpec, k *Key, n int) error {
	if s.aggregate <= 0 {
		return m.attempt(ctx, s.op, k, n, nil)
	}
	u := m.blocks.get(s.op, k.ID, n)
	u.mu.Lock()
	defer u.mu.Unlock()
	now := m.now()
	if u.used < u.size && now.Before(u.until) {
		u.used++
		return nil
	}
	size, until := u.next(now, s.aggregate), now.Add(s.aggregate)
	d := map[string]string{
		"uses_reserved":  strconv.FormatInt(size, 10),
		"reserved_until": until.UTC().Format(time.RFC3339Nano),
	}
	if u.size > 0 {
		d["previous_uses"] = strconv.FormatInt(u.used, 10)
	}
	if err := m.attempt(ctx, s.op, k, n, d); err != nil {
		return err
	}
	u.size, u.used, u.until = size, 1, until
	return nil
}
