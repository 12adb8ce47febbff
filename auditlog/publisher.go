package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInconsistent reports that the tree in storage does not extend the last
// published checkpoint: the Publisher refuses to sign it.
var ErrInconsistent = errors.New("auditlog: tree is not consistent with the previous checkpoint")

// PublisherConfig configures a [Publisher].
type PublisherConfig struct {
	// Origin names the log in its checkpoints, e.g. "signet.local/audit".
	Origin string
	// Signer is the audit checkpoint key (Ed25519 note key of its own
	// purpose).
	Signer note.Signer
	// Anchorers are called, in order, after each checkpoint is stored.
	Anchorers []Anchorer
	// Every publishes a checkpoint once this many events were appended
	// since the last one (0: only on the timer and on demand).
	Every int64
	// Interval publishes a checkpoint this often if the log grew (0: no
	// timer).
	Interval time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives anchoring failures; nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c *PublisherConfig) Validate() error {
	if c.Origin == "" {
		return errors.New("auditlog: publisher: empty origin")
	}
	if c.Signer == nil {
		return errors.New("auditlog: publisher: no signer")
	}
	if c.Every < 0 || c.Interval < 0 {
		return errors.New("auditlog: publisher: negative Every or Interval")
	}
	return nil
}

// A Publisher signs and stores checkpoints of the log in a Storage, then
// anchors them. It refuses to sign a tree that is not consistent with the
// previous checkpoint (RFC 6962, Section 2.1.2): a rewritten history is
// never blessed with the audit key.
//
// Publish may be called at any time; Start runs the background loop that
// publishes every Every events (see [Publisher.Notify]) or Interval, and
// Shutdown stops it after a final publication.
type Publisher struct {
	store Storage
	cfg   PublisherConfig

	mu   sync.Mutex // serializes publications
	last Checkpoint
	head TreeHead
	init bool

	anchorFailures atomic.Int64
	// closing is set by Shutdown: the log no longer records, so
	// [LogBoundAnchorer]s are skipped.
	closing atomic.Bool
	// settled is the log's size right after the last publication's
	// anchors: anchoring may itself append events (the built-in TSA's
	// key.used), which are no reason for another checkpoint.
	settled  atomic.Int64
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	notified atomic.Int64
}

// NewPublisher returns a Publisher for store.
func NewPublisher(store Storage, cfg PublisherConfig) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Publisher{store: store, cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// AnchorFailures returns how many Anchor calls failed so far.
func (p *Publisher) AnchorFailures() int64 { return p.anchorFailures.Load() }

// SettledSize returns the log's size right after the last publication's
// anchoring: the events the latest checkpoint covers, with those its own
// anchoring appended (which wait for the next checkpoint without
// prompting one).
func (p *Publisher) SettledSize() int64 { return p.settled.Load() }

// Latest returns the last checkpoint published or found in storage, and
// false if there is none.
func (p *Publisher) Latest(ctx context.Context) (Checkpoint, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.load(ctx); err != nil {
		return Checkpoint{}, false, err
	}
	return p.last, p.last.Note != nil, nil
}

// load reads the latest stored checkpoint once.
func (p *Publisher) load(ctx context.Context) error {
	if p.init {
		return nil
	}
	cps, err := p.store.Checkpoints(ctx)
	if err != nil {
		return fmt.Errorf("auditlog: publisher: %w", err)
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		h, err := ParseCheckpointUnverified(last.Note)
		if err != nil {
			return fmt.Errorf("auditlog: publisher: stored checkpoint: %w", err)
		}
		p.last, p.head = last, h
	}
	p.init = true
	return nil
}

// Publish signs a checkpoint for the current size of the log, stores it
// and anchors it. If the log did not grow since the last checkpoint, it
// returns that checkpoint. It fails with [ErrInconsistent] if the stored
// tree does not extend the previous checkpoint.
func (p *Publisher) Publish(ctx context.Context) (Checkpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.load(ctx); err != nil {
		return Checkpoint{}, err
	}
	size, err := p.store.Size(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("auditlog: publisher: %w", err)
	}
	prev := p.last
	if size == p.head.Size && prev.Note != nil {
		return prev, nil
	}
	if size < p.head.Size {
		return Checkpoint{}, fmt.Errorf("%w: storage holds %d records, last checkpoint %d", ErrInconsistent, size, p.head.Size)
	}
	hr := hashReader(ctx, p.store)
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("auditlog: publisher: tree hash: %w", err)
	}
	var proof tlog.TreeProof
	if prev.Note != nil && p.head.Size > 0 {
		proof, err = tlog.ProveTree(size, p.head.Size, hr)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("auditlog: publisher: consistency proof: %w", err)
		}
		if err := tlog.CheckTree(proof, size, root, p.head.Size, p.head.Hash); err != nil {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
	}
	head := TreeHead{Origin: p.cfg.Origin, Size: size, Hash: root}
	msg, err := SignTreeHead(head, p.cfg.Signer)
	if err != nil {
		return Checkpoint{}, err
	}
	cp := Checkpoint{Size: size, Note: msg, Time: p.cfg.Now()}
	if err := p.store.AddCheckpoint(ctx, cp); err != nil {
		return Checkpoint{}, fmt.Errorf("auditlog: publisher: store checkpoint: %w", err)
	}
	p.last, p.head = cp, head
	p.anchor(ctx, cp, prev, proof)
	if n, err := p.store.Size(ctx); err == nil {
		p.settled.Store(n)
	}
	return cp, nil
}

// anchor runs every Anchorer and stores what they return.
func (p *Publisher) anchor(ctx context.Context, cp, prev Checkpoint, proof tlog.TreeProof) {
	for _, a := range p.cfg.Anchorers {
		if lb, ok := a.(LogBoundAnchorer); ok && lb.AnchorsThroughLog() && p.closing.Load() {
			p.cfg.Logger.Info("auditlog: the last checkpoint before shutdown is anchored at the next start", "size", cp.Size)
			continue
		}
		anchors, err := a.Anchor(ctx, cp, prev, proof)
		if err != nil {
			p.anchorFailures.Add(1)
			p.cfg.Logger.Error("auditlog: anchoring failed", "size", cp.Size, "err", err)
		}
		for _, an := range anchors {
			an.Size = cp.Size
			if err := p.store.AddAnchor(ctx, an); err != nil {
				p.anchorFailures.Add(1)
				p.cfg.Logger.Error("auditlog: storing anchor failed", "size", cp.Size, "kind", an.Kind, "err", err)
			}
		}
	}
}

// Notify tells the Publisher that the log has reached size; the background
// loop publishes once Every events accumulated. [Log] calls it after each
// durable batch when configured with this Publisher.
func (p *Publisher) Notify(size int64) {
	p.notified.Store(size)
	if p.cfg.Every > 0 && size-p.publishedSize() >= p.cfg.Every {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (p *Publisher) publishedSize() int64 {
	if p.mu.TryLock() {
		defer p.mu.Unlock()
		return p.head.Size
	}
	return 0 // a publication is running; wake it again afterwards
}

// Start runs the publishing loop in the background until Shutdown.
func (p *Publisher) Start(ctx context.Context) {
	p.stop = make(chan struct{})
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		p.loop(context.WithoutCancel(ctx), p.stop)
	}()
}

// Run runs the publishing loop until ctx is done, for a caller that
// publishes only while it holds a lease (several nodes on one database).
// It first forgets the last checkpoint it knew, since another node may
// have published since: the next publication extends the latest stored
// one.
func (p *Publisher) Run(ctx context.Context) {
	p.mu.Lock()
	p.init = false
	p.mu.Unlock()
	p.loop(ctx, ctx.Done())
}

func (p *Publisher) loop(ctx context.Context, stop <-chan struct{}) {
	var tick <-chan time.Time
	if p.cfg.Interval > 0 {
		t := time.NewTicker(p.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-stop:
			return
		case <-p.wake:
		case <-tick:
			// An interval passed: publish if events came in since the
			// last publication, other than those its anchoring appended
			// (they are covered by the next checkpoint, or the final
			// one). Otherwise an idle log would time-stamp a checkpoint
			// of its own anchoring every interval, for ever.
			if n, err := p.store.Size(ctx); err == nil && n <= p.settled.Load() {
				continue
			}
		}
		if _, err := p.Publish(ctx); err != nil {
			p.cfg.Logger.Error("auditlog: publishing checkpoint failed", "err", err)
		}
	}
}

// Shutdown stops the background loop, then publishes a final checkpoint,
// anchored by every anchorer but the [LogBoundAnchorer]s. Call it after
// [Log.Shutdown], so the final checkpoint covers every acknowledged event.
func (p *Publisher) Shutdown(ctx context.Context) error {
	if p.stop != nil {
		close(p.stop)
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.stop = nil
	}
	p.closing.Store(true)
	_, err := p.Publish(ctx)
	return err
}
