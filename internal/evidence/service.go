package evidence

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// Workflow is what the service reads from the envelope workflow
// (*workflow.Service implements it). Envelope and History answer for the
// actor's tenant only.
type Workflow interface {
	Envelope(ctx context.Context, a workflow.Actor, id string) (*workflow.Envelope, error)
	History(ctx context.Context, a workflow.Actor, id string) ([]workflow.Transition, error)
	OpenContent(ctx context.Context, tenant, sha256 string) (blob.Reader, int64, error)
}

// AuditStore is what the service reads from the audit log's storage
// (every auditlog.Storage implements it).
type AuditStore interface {
	EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]auditlog.Record, error)
	Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error)
	Anchors(ctx context.Context, size int64) ([]auditlog.Anchor, error)
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// Sealer is the tenant's seal ((*signing.Sealer) implements it): its key
// and certificates sign the manifest; SealPDF seals the certificate of
// completion.
type Sealer interface {
	SealKey(ctx context.Context, tenant string) (crypto.Signer, []*x509.Certificate, error)
	SealPDF(ctx context.Context, tenant string, doc []byte) ([]byte, error)
}

// Config configures a [Service]. Every field but Now is required.
type Config struct {
	Workflow Workflow
	Audit    AuditStore
	// Recorder records audit.exported before a bundle is answered.
	Recorder auditlog.Recorder
	// AuditKeys open the sealed clear values of the envelope's events
	// (addresses, names, IP addresses) for the certificate of completion.
	AuditKeys auditlog.TenantKeys
	Sealer    Sealer
	// Timestamper is the archive time-stamp authority: it time-stamps the
	// manifest's signature.
	Timestamper pades.Timestamper
	// Root is the root certificate the tenants' chains lead to
	// (trust/root.pem, a hint for the verifier).
	Root *x509.Certificate
	// LogKeys returns the audit log's checkpoint verifier keys, one per
	// line (current first); the one that verifies the bundle's checkpoint
	// goes into the bundle.
	LogKeys func(ctx context.Context) (string, error)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// A Service gathers evidence bundles.
type Service struct {
	cfg Config
}

// New returns a Service, or an error naming a missing dependency.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Workflow == nil:
		return nil, errors.New("evidence: no workflow")
	case cfg.Audit == nil:
		return nil, errors.New("evidence: no audit storage")
	case cfg.Recorder == nil:
		return nil, errors.New("evidence: no audit recorder")
	case cfg.AuditKeys == nil:
		return nil, errors.New("evidence: no audit tenant keys")
	case cfg.Sealer == nil:
		return nil, errors.New("evidence: no sealer")
	case cfg.Timestamper == nil:
		return nil, errors.New("evidence: no archive time-stamp authority")
	case cfg.Root == nil:
		return nil, errors.New("evidence: no root certificate")
	case cfg.LogKeys == nil:
		return nil, errors.New("evidence: no audit log verifier keys")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// ErrCheckpointPending is the problem answered while no checkpoint of the
// audit log covers the envelope's last event (with Retry-After).
var ErrCheckpointPending = &api.Error{Kind: api.KindUnavailable, Type: "checkpoint-pending",
	Title:  "Audit checkpoint pending",
	Detail: "the audit log has not yet published a checkpoint covering the envelope's last event; retry in a few seconds"}

// retryPending is how long a client waits before asking again.
const retryPending = 5

// A Bundle is an envelope's evidence bundle, gathered, signed and
// recorded, ready to be written.
type Bundle struct {
	// EnvelopeID is the envelope's id.
	EnvelopeID string
	// Manifest is the signed manifest's bytes.
	Manifest []byte
	signed   *evidence.Signed
}

// Filename is the bundle's suggested file name.
func (b *Bundle) Filename() string { return "evidence-" + b.EnvelopeID + ".zip" }

// Write streams the bundle to w. On an error the output is incomplete (no
// manifest, no ZIP central directory) and must be discarded.
func (b *Bundle) Write(ctx context.Context, w io.Writer) error { return b.signed.Write(ctx, w) }

// Write gathers the bundle of envelope id of a's tenant and writes it to
// w: [Service.Prepare], then [Bundle.Write].
func (s *Service) Write(ctx context.Context, a workflow.Actor, id string, w io.Writer) error {
	b, err := s.Prepare(ctx, a, id)
	if err != nil {
		return err
	}
	return b.Write(ctx, w)
}

// Prepare gathers the bundle of envelope id of a's tenant (the
// principal's, never the request's), signs its manifest and records
// audit.exported. Nothing is answered if any step fails.
func (s *Service) Prepare(ctx context.Context, a workflow.Actor, id string) (*Bundle, error) {
	if a.Tenant == "" {
		return nil, &api.Error{Kind: api.KindForbidden, Detail: "evidence bundles belong to a tenant; the platform administrator has none"}
	}
	e, err := s.cfg.Workflow.Envelope(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if e.Tenant != a.Tenant {
		return nil, fmt.Errorf("evidence: envelope %s is not of the principal's tenant", id)
	}
	hist, err := s.cfg.Workflow.History(ctx, a, id)
	if err != nil {
		return nil, err
	}
	g := &gathering{s: s, ctx: ctx, env: e, now: s.cfg.Now().UTC()}
	if err := g.audit(); err != nil {
		return nil, err
	}
	g.facts = envelopeFacts(e, hist)
	signer, certs, err := s.cfg.Sealer.SealKey(ctx, e.Tenant)
	if err != nil {
		return nil, &api.Error{Kind: api.KindUnavailable, Detail: "the tenant's seal key is not available", Err: err}
	}
	g.sealCerts = certs
	files, err := g.files()
	if err != nil {
		return nil, err
	}
	signed, err := evidence.Sign(ctx, evidence.Manifest{EnvelopeID: e.ID, Tenant: e.Tenant, Created: g.now}, files,
		evidence.CMSSigner{Signer: signer, Certificates: certs, Timestamper: s.cfg.Timestamper})
	if err != nil {
		return nil, &api.Error{Kind: api.KindUnavailable, Detail: "the bundle's manifest could not be signed and time-stamped", Err: err}
	}
	sum := sha256Hex(signed.Manifest())
	ev := auditlog.Event{
		Type: auditlog.AuditExported, Tenant: e.Tenant,
		Actor:   auditlog.Actor{Kind: a.Kind, ID: a.ID, AuthMethods: a.AuthMethods, AuthStrength: a.AuthStrength},
		Subject: auditlog.Subject{EnvelopeID: e.ID},
		Request: auditlog.Request{CorrelationID: a.CorrelationID, ClientRequestID: a.ClientRequestID, IP: a.IP, UserAgent: a.UserAgent},
		Outcome: auditlog.OutcomeSuccess,
		Details: map[string]string{
			"export": "evidence", "manifest_sha256": sum,
			"events": strconv.Itoa(len(g.records)), "checkpoint_size": strconv.FormatInt(g.cp.Size, 10),
		},
	}
	if err := s.cfg.Recorder.Record(ctx, ev); err != nil {
		return nil, &api.Error{Kind: api.KindUnavailable, Detail: "the export could not be recorded in the audit log", Err: err}
	}
	return &Bundle{EnvelopeID: e.ID, Manifest: signed.Manifest(), signed: signed}, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
