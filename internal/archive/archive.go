package archive

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// Defaults of [Config].
const (
	// DefaultMargin is how long before a time-stamp's authority
	// certificate expires (or its algorithms weaken) renewal is due:
	// 180 days.
	DefaultMargin = 180 * 24 * time.Hour
	// DefaultInterval is the time between two passes: a day.
	DefaultInterval = 24 * time.Hour
	// MaxMargin bounds the margin: ten years.
	MaxMargin = 10 * 366 * 24 * time.Hour
	// DefaultCacheSize bounds the due dates kept in memory.
	DefaultCacheSize = 1 << 17
)

// pageSize is how many envelopes a pass reads at once.
const pageSize = 100

// Workflow is what renewal needs of the envelope workflow;
// *workflow.Service implements it.
type Workflow interface {
	workflow.Contents
	// CompletedEnvelopes pages through the completed envelopes.
	CompletedEnvelopes(ctx context.Context, after string, limit int) ([]string, error)
	// Envelope returns an envelope (any tenant's for an actor without
	// one).
	Envelope(ctx context.Context, a workflow.Actor, id string) (*workflow.Envelope, error)
	// LockDocument takes a document's lock.
	LockDocument(ctx context.Context, id string) (context.Context, func(), error)
	// RenewDocument records and stores a renewed version.
	RenewDocument(ctx context.Context, r workflow.DocumentRenewal) error
}

var _ Workflow = (*workflow.Service)(nil)

// Config configures a [Service].
type Config struct {
	// Workflow holds the envelopes and their sealed contents.
	Workflow Workflow
	// Timestamper gives the archive time-stamps; Fetcher the validation
	// data (certificates, OCSP responses, CRLs) of every signature and
	// time-stamp.
	Timestamper pades.Timestamper
	Fetcher     pades.ValidationFetcher
	// Roots are the trust anchors documents are verified against.
	Roots *x509.CertPool
	// Margin is how long before the latest time-stamp's authority
	// certificate expires, or its algorithms weaken, a document is
	// renewed (0: [DefaultMargin]; at most [MaxMargin]).
	Margin time.Duration
	// Interval is the time between passes of [Service.Run] (0:
	// [DefaultInterval]); it must be shorter than Margin.
	Interval time.Duration
	// Weakenings is the table of algorithms and the dates they weaken
	// (nil: [DefaultWeakenings]).
	Weakenings []Weakening
	// CacheSize bounds the due dates kept in memory (0:
	// [DefaultCacheSize]).
	CacheSize int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger receives renewals, failures and the overdue alert (nil:
	// discard).
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	switch {
	case c.Workflow == nil:
		return errors.New("archive: no workflow")
	case c.Timestamper == nil:
		return errors.New("archive: no time-stamper")
	case c.Fetcher == nil:
		return errors.New("archive: no validation data fetcher")
	case c.Margin < 0 || c.Margin > MaxMargin:
		return fmt.Errorf("archive: the renewal margin must be between 0 and %v", MaxMargin)
	case c.Interval < 0:
		return errors.New("archive: negative check interval")
	case c.CacheSize < 0:
		return errors.New("archive: negative cache size")
	}
	if m, i := c.margin(), c.interval(); i >= m {
		return fmt.Errorf("archive: the check interval (%v) must be shorter than the renewal margin (%v)", i, m)
	}
	return nil
}

func (c *Config) margin() time.Duration {
	if c.Margin == 0 {
		return DefaultMargin
	}
	return c.Margin
}

func (c *Config) interval() time.Duration {
	if c.Interval == 0 {
		return DefaultInterval
	}
	return c.Interval
}

// Result counts what one pass did.
type Result struct {
	// Checked is the number of completed envelopes' documents looked at.
	Checked int
	// Renewed is the number renewed.
	Renewed int
	// Overdue is the number due that the pass left unrenewed.
	Overdue int
	// Failed is the number whose state could not be read, that are
	// invalid, or whose renewal failed.
	Failed int
}

// Status is the state of renewal, for monitoring (GET /v1/archive/status).
type Status struct {
	// Overdue is the number of documents the last pass left due and
	// unrenewed.
	Overdue int `json:"overdue"`
	// RenewedTotal and FailedTotal count renewals and failures since the
	// service started.
	RenewedTotal int64 `json:"renewed_total"`
	FailedTotal  int64 `json:"failed_total"`
	// LastRun is when the last pass ended (zero before the first).
	LastRun time.Time `json:"last_run,omitzero"`
	// NextDue is the earliest due date of the documents the last pass
	// left not overdue (zero when there are none).
	NextDue time.Time `json:"next_due,omitzero"`
}

// Service renews completed documents before their time-stamps lapse.
// Its methods are safe for concurrent use; passes run one at a time.
type Service struct {
	cfg     Config
	margin  time.Duration
	table   []Weakening
	log     *slog.Logger
	running sync.Mutex // held by a pass

	mu     sync.Mutex
	cache  map[string]state // by tenant + "/" + version
	status Status
}

// New returns a service over cfg.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	table := cfg.Weakenings
	if table == nil {
		table = DefaultWeakenings
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, margin: cfg.margin(), table: table, log: log, cache: map[string]state{}}, nil
}

// Interval returns the time between passes.
func (s *Service) Interval() time.Duration { return s.cfg.interval() }

// Status returns the state of renewal after the last pass.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Run runs a pass at once and then every interval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.interval())
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "archive renewal pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce makes one pass over every completed envelope's documents and
// renews those due. A document that cannot be renewed is counted and
// logged, and the pass goes on; the error is for the pass itself (the
// envelopes could not be listed). When documents are left overdue it
// logs "ALERT: archive renewal overdue" at error level with their count.
func (s *Service) RunOnce(ctx context.Context) (Result, error) {
	s.running.Lock()
	defer s.running.Unlock()
	var res Result
	var nextDue time.Time
	after := ""
	var err error
	for err == nil {
		var ids []string
		if ids, err = s.cfg.Workflow.CompletedEnvelopes(ctx, after, pageSize); err != nil || len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		for _, id := range ids {
			if err = ctx.Err(); err != nil {
				break
			}
			s.envelope(ctx, id, &res, &nextDue)
		}
	}
	now := s.now()
	s.mu.Lock()
	if err == nil {
		// An interrupted pass leaves the overdue count and next due date
		// of the last complete one.
		s.status.Overdue, s.status.NextDue = res.Overdue, nextDue
	}
	s.status.RenewedTotal += int64(res.Renewed)
	s.status.FailedTotal += int64(res.Failed)
	s.status.LastRun = now
	s.mu.Unlock()
	if res.Overdue > 0 {
		s.log.ErrorContext(ctx, "ALERT: archive renewal overdue", "count", res.Overdue, "failed", res.Failed)
	}
	if res.Renewed > 0 {
		s.log.InfoContext(ctx, "archive renewal pass", "checked", res.Checked, "renewed", res.Renewed)
	}
	if err != nil {
		return res, fmt.Errorf("archive: %w", err)
	}
	return res, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// envelope checks, and renews if due, the documents of envelope id.
func (s *Service) envelope(ctx context.Context, id string, res *Result, nextDue *time.Time) {
	e, err := s.cfg.Workflow.Envelope(ctx, workflow.ArchiveActor, id)
	if err != nil {
		// Purged since it was listed, or unreadable.
		if !errors.Is(err, workflow.ErrNotFound) {
			res.Failed++
			s.log.WarnContext(ctx, "archive renewal: reading an envelope failed", "envelope", id, "error", err)
		}
		return
	}
	for _, d := range e.Documents {
		res.Checked++
		st, err := s.state(ctx, e.Tenant, d.SHA256)
		switch {
		case err != nil:
			res.Failed++
			s.log.WarnContext(ctx, "archive renewal: reading a document's time-stamps failed", "envelope", id, "document", d.DocumentID, "sha256", d.SHA256, "error", err)
			continue
		case st.invalid != "":
			res.Failed++
			s.log.WarnContext(ctx, "archive renewal: document not renewed: it does not verify", "envelope", id, "document", d.DocumentID, "sha256", d.SHA256, "finding", st.invalid)
			continue
		case s.now().Before(st.due):
			keepEarliest(nextDue, st.due)
			continue
		}
		next, err := s.renew(ctx, e, d, st)
		switch {
		case errors.Is(err, errChanged):
			// Another writer moved the document on; the next pass looks at
			// its new version.
		case err != nil:
			res.Failed++
			res.Overdue++
			s.log.WarnContext(ctx, "archive renewal failed", "envelope", id, "document", d.DocumentID, "sha256", d.SHA256,
				"due", st.due, "reason", st.reason, "error", err)
		default:
			res.Renewed++
			keepEarliest(nextDue, next.due)
		}
	}
}

func keepEarliest(t *time.Time, u time.Time) {
	if t.IsZero() || u.Before(*t) {
		*t = u
	}
}

// errChanged: the document's version changed before it could be renewed.
var errChanged = errors.New("archive: the document changed")

// state returns the state of tenant's version sum, from the cache or read.
func (s *Service) state(ctx context.Context, tenant, sum string) (state, error) {
	key := tenant + "/" + sum
	s.mu.Lock()
	st, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	rd, size, err := s.cfg.Workflow.OpenContent(ctx, tenant, sum)
	if err != nil {
		return state{}, err
	}
	defer rd.Close()
	if st, err = s.stateOf(rd, size); err != nil {
		return state{}, err
	}
	s.remember(key, st)
	return st, nil
}

func (s *Service) stateOf(src io.ReaderAt, size int64) (state, error) {
	return stateOf(src, size, pades.VerifyOptions{Roots: s.cfg.Roots, Now: s.now}, s.margin, s.table)
}

// remember caches st under key, dropping an arbitrary entry when full.
func (s *Service) remember(key string, st state) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= s.cfg.CacheSize {
		for k := range s.cache {
			delete(s.cache, k)
			break
		}
	}
	s.cache[key] = st
}

// renew renews document d of envelope e, whose version is in state st,
// under the document's lock, and returns the renewed version's state.
func (s *Service) renew(ctx context.Context, e *workflow.Envelope, d workflow.EnvelopeDocument, st state) (state, error) {
	ctx, unlock, err := s.cfg.Workflow.LockDocument(ctx, d.DocumentID)
	if err != nil {
		return state{}, err
	}
	defer unlock()
	cur, err := s.cfg.Workflow.Envelope(ctx, workflow.ArchiveActor, e.ID)
	if err != nil {
		return state{}, err
	}
	if cur.Status != workflow.StatusCompleted || !hasVersion(cur, d.DocumentID, d.SHA256) {
		return state{}, errChanged
	}
	rd, size, err := s.cfg.Workflow.OpenContent(ctx, e.Tenant, d.SHA256)
	if err != nil {
		return state{}, err
	}
	defer rd.Close()
	f := pades.NewOverlay(rd, size)
	n, err := pades.Archive(ctx, f, size, pades.LTVOptions{Fetcher: s.cfg.Fetcher, Timestamper: s.cfg.Timestamper})
	if err != nil {
		return state{}, err
	}
	if n != f.Size() {
		return state{}, fmt.Errorf("archive: the renewal reports %d bytes and wrote %d", n, f.Size())
	}
	// The renewal must help: its time-stamp is the latest, and the new
	// due date is in the future. An authority whose own certificate is
	// inside the margin would not; then nothing is stored.
	next, err := s.stateOf(f, n)
	switch {
	case err != nil:
		return state{}, fmt.Errorf("archive: the renewed document: %w", err)
	case next.invalid != "":
		return state{}, fmt.Errorf("archive: the renewed document does not verify: %s", next.invalid)
	case !next.stamped.After(st.stamped):
		return state{}, errors.New("archive: the renewed document's latest time-stamp is not the new one")
	case !next.due.After(s.now()):
		return state{}, fmt.Errorf("archive: renewing does not help: the new time-stamp of %s is due itself on %s (%s)",
			next.authority, next.due.Format(time.DateOnly), next.reason)
	}
	sum, _, err := s.cfg.Workflow.AppendContent(ctx, e.Tenant, d.SHA256, bytes.NewReader(f.Tail()))
	if err != nil {
		return state{}, err
	}
	if err := s.cfg.Workflow.RenewDocument(ctx, workflow.DocumentRenewal{
		EnvelopeID: e.ID, DocumentID: d.DocumentID, PreviousSHA256: d.SHA256, SHA256: sum,
		Authority: st.authority, Due: st.due, Reason: st.reason,
	}); err != nil {
		return state{}, err
	}
	s.remember(e.Tenant+"/"+sum, next)
	s.log.InfoContext(ctx, "document archive-renewed", "envelope", e.ID, "document", d.DocumentID,
		"previous_sha256", d.SHA256, "sha256", sum, "due", st.due, "reason", st.reason, "next_due", next.due)
	return next, nil
}

// hasVersion reports whether e's document id is at version sum.
func hasVersion(e *workflow.Envelope, id, sum string) bool {
	for _, d := range e.Documents {
		if d.DocumentID == id {
			return d.SHA256 == sum
		}
	}
	return false
}
