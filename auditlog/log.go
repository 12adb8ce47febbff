package auditlog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Append after Shutdown.
var ErrClosed = errors.New("auditlog: log is shut down")

// A Recorder records audit events. It is the interface the rest of Signet
// depends on.
//
// Record MUST return nil only once the event is durably stored in the log.
// A caller MUST treat an error as the failure of the action it records and
// MUST NOT carry that action out (fail closed): an action that cannot be
// audited does not happen.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// Config configures a [Log].
type Config struct {
	// Storage holds the log.
	Storage Storage
	// Keys provides the tenants' HMAC and sealing keys.
	Keys TenantKeys
	// Now returns the wall-clock time; nil means time.Now. Event times
	// never go backwards, even if Now does.
	Now func() time.Time
	// Rand is the source of event ids and nonces; nil means crypto/rand.
	Rand io.Reader
	// QueueSize bounds the appends waiting for the sequencer (default
	// 4096); Append blocks when the queue is full.
	QueueSize int
	// MaxBatch bounds the records per storage transaction (default 1024).
	MaxBatch int
	// Publisher, if set, is notified of the size after each durable batch.
	Publisher *Publisher
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	if c.Storage == nil {
		return errors.New("auditlog: no storage")
	}
	if c.Keys == nil {
		return errors.New("auditlog: no tenant keys")
	}
	if c.QueueSize < 0 || c.MaxBatch < 0 {
		return errors.New("auditlog: negative QueueSize or MaxBatch")
	}
	return nil
}

// A Log appends events to Storage through a single sequencer goroutine
// that batches concurrent appends into one storage transaction (group
// commit).
//
// Shutdown order: stop the callers, call [Log.Shutdown] (it drains the
// queue), then [Publisher.Shutdown], then close the Storage.
type Log struct {
	cfg   Config
	rand  io.Reader
	randM sync.Mutex

	mu     sync.RWMutex // guards closed and sends on queue
	closed bool
	queue  chan *pending
	done   chan struct{}

	seq *sequencer

	publisher atomic.Pointer[Publisher]
	observer  atomic.Pointer[Observer]
}

// An Observer is told of every append to a [Log] as it starts, with the
// event (read only); the context it returns carries the append (a trace
// span may ride in it) and the function it returns is called once with
// the append's outcome (nil once durable). Metrics and traces use it.
type Observer func(ctx context.Context, e Event) (context.Context, func(err error))

// JoinObservers returns one observer that tells each of os in turn (nil
// ones skipped; nil if none is left): the contexts they return are
// chained, and the outcome goes to each.
func JoinObservers(os ...Observer) Observer {
	var live []Observer
	for _, o := range os {
		if o != nil {
			live = append(live, o)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return func(ctx context.Context, e Event) (context.Context, func(error)) {
		dones := make([]func(error), len(live))
		for i, o := range live {
			ctx, dones[i] = o(ctx, e)
		}
		return ctx, func(err error) {
			for i := len(dones) - 1; i >= 0; i-- {
				dones[i](err)
			}
		}
	}
}

// SetObserver makes o the observer of every later append; nil stops
// observing.
func (l *Log) SetObserver(o Observer) {
	if o == nil {
		l.observer.Store(nil)
		return
	}
	l.observer.Store(&o)
}

var _ Recorder = (*Log)(nil)

type pending struct {
	p     *prepared
	index int64
	err   error
	done  chan struct{}
}

// New opens the log over cfg.Storage and starts its sequencer.
func New(ctx context.Context, cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 4096
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 1024
	}
	l := &Log{cfg: cfg, rand: cfg.Rand, queue: make(chan *pending, cfg.QueueSize), done: make(chan struct{})}
	if l.rand == nil {
		l.rand = rand.Reader
	}
	seq, err := newSequencer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	l.seq = seq
	if cfg.Publisher != nil {
		l.publisher.Store(cfg.Publisher)
	}
	go l.run()
	return l, nil
}

// Append validates e, assigns its ID (if empty) and time, and appends it.
// It returns the event's index only once the batch holding it is durable.
// On error the event may or may not have been stored (a storage failure
// can be ambiguous), but it was never acknowledged.
func (l *Log) Append(ctx context.Context, e Event) (int64, error) {
	if o := l.observer.Load(); o != nil {
		ctx, done := (*o)(ctx, e)
		i, err := l.append(ctx, e)
		done(err)
		return i, err
	}
	return l.append(ctx, e)
}

func (l *Log) append(ctx context.Context, e Event) (int64, error) {
	if e.ID == "" {
		l.randM.Lock()
		id, err := newUUIDv7(l.cfg.Now(), l.rand)
		l.randM.Unlock()
		if err != nil {
			return 0, fmt.Errorf("auditlog: event id: %w", err)
		}
		e.ID = id
	}
	l.randM.Lock()
	p, err := prepare(ctx, e, l.cfg.Keys, l.rand)
	l.randM.Unlock()
	if err != nil {
		return 0, err
	}
	pe := &pending{p: p, done: make(chan struct{})}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case l.queue <- pe:
	case <-ctx.Done():
		l.mu.RUnlock()
		return 0, fmt.Errorf("auditlog: append: %w", ctx.Err())
	}
	l.mu.RUnlock()
	select {
	case <-pe.done:
		return pe.index, pe.err
	case <-ctx.Done():
		return 0, fmt.Errorf("auditlog: append: %w", ctx.Err())
	}
}

// SetPublisher makes p the publisher notified after each durable batch,
// for when p can only be built once the log records events (its
// checkpoint key lives in a key store that audits through this log).
func (l *Log) SetPublisher(p *Publisher) { l.publisher.Store(p) }

// Record implements [Recorder] with Append.
func (l *Log) Record(ctx context.Context, e Event) error {
	_, err := l.Append(ctx, e)
	return err
}

// Size returns the number of durably appended events, as this log last
// saw the storage: other writers on the same storage (other nodes) may
// have appended since.
func (l *Log) Size() int64 { return l.seq.size.Load() }

// Shutdown refuses new appends, waits until every queued append is
// committed or failed, and stops the sequencer.
func (l *Log) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auditlog: shutdown: %w", ctx.Err())
	}
}

// run is the sequencer loop: take what is queued (without waiting for
// more when idle), commit it as one batch, repeat.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]*pending, 0, l.cfg.MaxBatch)
	for {
		first, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < l.cfg.MaxBatch {
			select {
			case pe, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, pe)
			default:
				break fill
			}
		}
		size, err := l.seq.commit(batch)
		if p := l.publisher.Load(); err == nil && p != nil {
			p.Notify(size)
		}
		for _, pe := range batch {
			pe.err = err
			close(pe.done)
		}
	}
}
