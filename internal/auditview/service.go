package auditview

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// Page sizes of [Service.Events].
const (
	// DefaultLimit is the number of events of a page when the request
	// names none.
	DefaultLimit = 50
	// MaxLimit is the most events a page holds.
	MaxLimit = 200
)

// Store is what the service reads of the audit log's storage (every
// auditlog.Storage implements it).
type Store interface {
	TenantRecords(ctx context.Context, tenant string, after int64, limit int) ([]auditlog.Record, error)
	EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]auditlog.Record, error)
	Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error)
	Anchors(ctx context.Context, size int64) ([]auditlog.Anchor, error)
}

// Config configures a [Service].
type Config struct {
	// Store is the audit log's storage (required).
	Store Store
	// SettledSize returns the log's size right after the last
	// publication's anchoring (auditlog.Publisher.SettledSize); nil
	// answers 0 (this node has not published).
	SettledSize func() int64
	// Envelopes reads the tenant's envelopes, for [Service.EnvelopeEvents]
	// (the workflow service); without it that method fails.
	Envelopes Envelopes
}

// Envelopes reads an acting tenant's envelope (*workflow.Service
// implements it): an envelope that is not the actor's answers
// workflow.ErrNotFound.
type Envelopes interface {
	Envelope(ctx context.Context, a workflow.Actor, id string) (*workflow.Envelope, error)
}

// A Service reads a tenant's audit events and the log's checkpoints.
type Service struct {
	cfg Config
}

// New returns a Service, or an error if cfg has no store.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("auditview: no audit store")
	}
	return &Service{cfg: cfg}, nil
}

// A Query selects a page of events.
type Query struct {
	// After is the index after which the page starts (-1: the first).
	After int64
	// Limit is the page size, 1 to [MaxLimit].
	Limit int
	// Envelope, if not empty, keeps the events about this envelope.
	Envelope string
}

// An Event is one audit event as the API shows it: the leaf's members
// without the sensitive values.
type Event struct {
	Index   int64             `json:"index"`
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Time    time.Time         `json:"time"`
	Actor   Actor             `json:"actor"`
	Subject Subject           `json:"subject"`
	Outcome string            `json:"outcome"`
	Reason  string            `json:"reason,omitempty"`
	Policy  *Policy           `json:"policy,omitempty"`
	Request *Request          `json:"request,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	// Sealed names the sensitive fields the event has and this view
	// withholds (e.g. "actor.email", "request.ip", "sensitive.subject").
	Sealed []string `json:"sealed,omitempty"`
	// Anchored reports that a checkpoint covering the event has an anchor.
	Anchored bool `json:"anchored"`
}

// An Actor is who acted, without e-mail address or name.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Auth *struct {
		Strength string   `json:"strength,omitempty"`
		Methods  []string `json:"methods,omitempty"`
	} `json:"auth,omitempty"`
}

// A Subject is what the event is about, without a recipient's address.
type Subject struct {
	DocumentSHA256    string `json:"document_sha256,omitempty"`
	EnvelopeID        string `json:"envelope_id,omitempty"`
	KeyID             string `json:"key_id,omitempty"`
	KeyVersion        string `json:"key_version,omitempty"`
	CertificateSerial string `json:"certificate_serial,omitempty"`
}

// A Policy is the decision behind the action.
type Policy struct {
	Decision string `json:"decision,omitempty"`
	Policy   string `json:"policy,omitempty"`
	Rule     string `json:"rule,omitempty"`
}

// A Request is the request the action came in, without its IP address.
type Request struct {
	CorrelationID   string `json:"correlation_id,omitempty"`
	ClientRequestID string `json:"client_request_id,omitempty"`
	UserAgent       string `json:"user_agent,omitempty"`
}

// A Page is one page of events; Next is the index to pass as After for
// the next page, nil when this page is the last.
type Page struct {
	Events []Event `json:"events"`
	Next   *int64  `json:"next"`
}

// errPlatform refuses the platform administrator, who acts in no tenant.
var errPlatform = &api.Error{Kind: api.KindForbidden, Detail: "the platform administrator does not act inside tenants"}

// Events returns a page of tenant's events in index order.
func (s *Service) Events(ctx context.Context, tenant string, q Query) (*Page, error) {
	if tenant == "" {
		return nil, errPlatform
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, api.Errorf(api.KindInvalid, "limit must be 1 to %d", MaxLimit)
	}
	if q.After < -1 {
		return nil, api.Errorf(api.KindInvalid, "after must be an event index")
	}
	var recs []auditlog.Record
	var err error
	if q.Envelope != "" {
		if err := auditlog.CheckEnvelopeID(q.Envelope); err != nil {
			return nil, api.Errorf(api.KindInvalid, "envelope: %v", err)
		}
		recs, err = s.cfg.Store.EnvelopeRecords(ctx, tenant, q.Envelope)
		if err != nil {
			return nil, fmt.Errorf("auditview: the envelope's events: %w", err)
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].Index < recs[j].Index })
		i := sort.Search(len(recs), func(i int) bool { return recs[i].Index > q.After })
		recs = recs[i:min(len(recs), i+q.Limit+1)]
	} else if recs, err = s.cfg.Store.TenantRecords(ctx, tenant, q.After, q.Limit+1); err != nil {
		return nil, fmt.Errorf("auditview: the tenant's events: %w", err)
	}
	page := &Page{Events: []Event{}}
	if len(recs) > q.Limit {
		recs = recs[:q.Limit]
		next := recs[len(recs)-1].Index
		page.Next = &next
	}
	if len(recs) == 0 {
		return page, nil
	}
	anchored, err := s.anchoredSize(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		e, err := view(r, tenant, q.Envelope)
		if err != nil {
			return nil, err
		}
		e.Anchored = e.Index < anchored
		page.Events = append(page.Events, e)
	}
	return page, nil
}

// EnvelopeEvents returns a page of the events about the acting tenant's
// envelope q.Envelope in index order, as [Service.Events] does, after
// checking that the envelope is the actor's (workflow.ErrNotFound, a 404
// problem, when it is not).
func (s *Service) EnvelopeEvents(ctx context.Context, a workflow.Actor, q Query) (*Page, error) {
	if a.Tenant == "" {
		return nil, errPlatform
	}
	if s.cfg.Envelopes == nil {
		return nil, errors.New("auditview: no envelope reader configured")
	}
	if q.Envelope == "" {
		return nil, api.Errorf(api.KindInvalid, "no envelope")
	}
	if _, err := s.cfg.Envelopes.Envelope(ctx, a, q.Envelope); err != nil {
		return nil, err
	}
	return s.Events(ctx, a.Tenant, q)
}

// anchoredSize is the size below which every record is anchored.
func (s *Service) anchoredSize(ctx context.Context) (int64, error) {
	cps, err := s.cfg.Store.Checkpoints(ctx)
	if err != nil {
		return 0, fmt.Errorf("auditview: checkpoints: %w", err)
	}
	n, err := auditlog.AnchoredSize(ctx, s.cfg.Store, cps)
	if err != nil {
		return 0, fmt.Errorf("auditview: %w", err)
	}
	return n, nil
}

// leaf is the part of a leaf the view shows; the sensitive members
// (actor.email, actor.name, subject.recipient_email, request.ip,
// sensitive) have no field here and are dropped by decoding.
type leaf struct {
	V       int               `json:"v"`
	Index   int64             `json:"index"`
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Tenant  string            `json:"tenant"`
	Time    time.Time         `json:"time"`
	Actor   Actor             `json:"actor"`
	Subject Subject           `json:"subject"`
	Outcome string            `json:"outcome"`
	Reason  string            `json:"reason"`
	Policy  *Policy           `json:"policy"`
	Request *Request          `json:"request"`
	Details map[string]string `json:"details"`
}

// sealedFields lists which sensitive members a leaf has.
type sealedFields struct {
	Actor struct {
		Email *json.RawMessage `json:"email"`
		Name  *json.RawMessage `json:"name"`
	} `json:"actor"`
	Subject struct {
		RecipientEmail *json.RawMessage `json:"recipient_email"`
	} `json:"subject"`
	Request struct {
		IP *json.RawMessage `json:"ip"`
	} `json:"request"`
	Sensitive map[string]json.RawMessage `json:"sensitive"`
}

// view decodes r's leaf, checking that it is tenant's (and envelope's,
// if not empty) event at r's index.
func view(r auditlog.Record, tenant, envelope string) (Event, error) {
	var l leaf
	if err := json.Unmarshal(r.Leaf, &l); err != nil || l.V != auditlog.LeafVersion {
		return Event{}, fmt.Errorf("auditview: audit event %d: malformed leaf", r.Index)
	}
	if r.Tenant != tenant || l.Tenant != tenant || l.Index != r.Index || (envelope != "" && l.Subject.EnvelopeID != envelope) {
		return Event{}, fmt.Errorf("auditview: the audit store returned event %d, which is not the tenant's", r.Index)
	}
	var sf sealedFields
	if err := json.Unmarshal(r.Leaf, &sf); err != nil {
		return Event{}, fmt.Errorf("auditview: audit event %d: malformed leaf", r.Index)
	}
	e := Event{Index: l.Index, ID: l.ID, Type: l.Type, Time: l.Time.UTC(), Actor: l.Actor, Subject: l.Subject,
		Outcome: l.Outcome, Reason: l.Reason, Policy: l.Policy, Request: l.Request, Details: l.Details}
	for _, f := range []struct {
		name string
		set  bool
	}{{"actor.email", sf.Actor.Email != nil}, {"actor.name", sf.Actor.Name != nil},
		{"subject.recipient_email", sf.Subject.RecipientEmail != nil}, {"request.ip", sf.Request.IP != nil}} {
		if f.set {
			e.Sealed = append(e.Sealed, f.name)
		}
	}
	var more []string
	for k := range sf.Sensitive {
		more = append(more, "sensitive."+k)
	}
	sort.Strings(more)
	e.Sealed = append(e.Sealed, more...)
	if e.Request != nil && *e.Request == (Request{}) {
		e.Request = nil
	}
	return e, nil
}

// A CheckpointView is the latest checkpoint as the API shows it.
type CheckpointView struct {
	// Size is the number of events the checkpoint commits to.
	Size int64 `json:"size"`
	// RootHash is the Merkle tree hash at Size, base64.
	RootHash string `json:"root_hash"`
	// Checkpoint is the signed note text (c2sp.org/tlog-checkpoint).
	Checkpoint string `json:"checkpoint"`
	// Time is when it was published.
	Time time.Time `json:"time"`
	// Anchors are its anchors.
	Anchors []AnchorView `json:"anchors"`
	// SettledSize is the log's size right after the last publication's
	// anchoring, as this node's publisher knows it (0 if it has not
	// published since it started).
	SettledSize int64 `json:"settled_size"`
}

// An AnchorView is one anchor of a checkpoint.
type AnchorView struct {
	// Kind is "rfc3161", "witness" or "sink".
	Kind string `json:"kind"`
	// Name names the TSA, witness or sink.
	Name string    `json:"name"`
	Time time.Time `json:"time"`
	Size int64     `json:"size"`
	// Locator is where a write-once sink keeps its copy (sink anchors).
	Locator string `json:"locator,omitempty"`
	// Data is the evidence, base64: the DER time-stamp token, the
	// cosignature line, or the sink's locator.
	Data string `json:"data"`
}

// ErrNoCheckpoint: the log has published no checkpoint yet.
var ErrNoCheckpoint = &api.Error{Kind: api.KindNotFound, Type: "no-checkpoint", Detail: "the audit log has published no checkpoint yet"}

// Checkpoint returns the latest stored checkpoint with its anchors.
func (s *Service) Checkpoint(ctx context.Context) (*CheckpointView, error) {
	cps, err := s.cfg.Store.Checkpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("auditview: checkpoints: %w", err)
	}
	if len(cps) == 0 {
		return nil, ErrNoCheckpoint
	}
	cp := cps[len(cps)-1]
	head, err := auditlog.ParseCheckpointUnverified(cp.Note)
	if err != nil {
		return nil, fmt.Errorf("auditview: checkpoint %d: %w", cp.Size, err)
	}
	as, err := s.cfg.Store.Anchors(ctx, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("auditview: anchors of checkpoint %d: %w", cp.Size, err)
	}
	v := &CheckpointView{Size: head.Size, RootHash: base64.StdEncoding.EncodeToString(head.Hash[:]),
		Checkpoint: string(cp.Note), Time: cp.Time.UTC(), Anchors: []AnchorView{}}
	if s.cfg.SettledSize != nil {
		v.SettledSize = s.cfg.SettledSize()
	}
	for _, a := range as {
		av := AnchorView{Kind: a.Kind, Name: a.Name, Time: a.Time.UTC(), Size: a.Size, Data: base64.StdEncoding.EncodeToString(a.Data)}
		if a.Kind == anchor.KindSink {
			av.Locator = string(a.Data)
		}
		v.Anchors = append(v.Anchors, av)
	}
	return v, nil
}

// The service gives the envelope history its events' positions.
var _ workflow.AuditPositions = (*Service)(nil)

// Positions returns, by event ID, the position in the log of tenant's
// events about envelope and whether each is anchored.
func (s *Service) Positions(ctx context.Context, tenant, envelope string) (map[string]workflow.AuditPosition, error) {
	recs, err := s.cfg.Store.EnvelopeRecords(ctx, tenant, envelope)
	if err != nil {
		return nil, fmt.Errorf("auditview: the envelope's events: %w", err)
	}
	out := make(map[string]workflow.AuditPosition, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	anchored, err := s.anchoredSize(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Tenant != tenant {
			return nil, fmt.Errorf("auditview: the audit store returned event %d, which is not the tenant's", r.Index)
		}
		out[r.ID] = workflow.AuditPosition{Index: r.Index, Anchored: r.Index < anchored}
	}
	return out, nil
}
