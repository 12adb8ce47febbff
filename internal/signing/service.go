package signing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/pki/ca"
)

// Defaults of [Config].
const (
	DefaultLinkTTL     = 7 * 24 * time.Hour
	DefaultCodeTTL     = 10 * time.Minute
	DefaultSessionTTL  = 30 * time.Minute
	DefaultMaxFailures = 5
	// DefaultCodeSends codes may be sent per recipient in each
	// DefaultCodeWindow.
	DefaultCodeSends  = 5
	DefaultCodeWindow = 15 * time.Minute
)

// DefaultLockouts is the lockout schedule: the first run of
// [DefaultMaxFailures] wrong codes locks the recipient out for fifteen
// minutes, the second for an hour, the third for a day; the next run
// revokes the recipient's links, and only a link the sender re-issues
// opens the envelope again. A link's life thus allows at most
// (len+1)×MaxFailures = 20 guesses of a six-digit code.
func DefaultLockouts() []time.Duration {
	return []time.Duration{15 * time.Minute, time.Hour, 24 * time.Hour}
}

// Workflow is what the signing side needs of the envelope workflow;
// *workflow.Service implements it. Its methods are documented there.
type Workflow interface {
	RecipientContext(ctx context.Context, envelopeID, recipientID string) (*workflow.RecipientView, error)
	Envelope(ctx context.Context, a workflow.Actor, id string) (*workflow.Envelope, error)
	MarkViewed(ctx context.Context, a workflow.Actor, envelopeID string) (*workflow.Envelope, error)
	ConsentRecorded(ctx context.Context, a workflow.Actor, envelopeID string) (*workflow.Envelope, error)
	RecipientSigned(ctx context.Context, a workflow.Actor, envelopeID, documentID, newSHA256 string) (workflow.Progress, error)
	RecipientDeclined(ctx context.Context, a workflow.Actor, envelopeID, reason string) (*workflow.Envelope, error)
	OpenEnvelopeDocument(ctx context.Context, a workflow.Actor, envelopeID, documentID string) (blob.Reader, *workflow.EnvelopeDocument, error)
	LockDocument(ctx context.Context, id string) (context.Context, func(), error)
	Complete(ctx context.Context, id string) (*workflow.Envelope, error)
}

var _ Workflow = (*workflow.Service)(nil)

// Authority issues the certificates of signatures and seals; *ca.Authority
// implements it.
type Authority interface {
	IssueEphemeral(ctx context.Context, id ca.Identity, ev ca.AuthEvidence) (crypto.Signer, *x509.Certificate, func() error, error)
	IssueSigner(ctx context.Context, id ca.Identity, ev ca.AuthEvidence, pub crypto.PublicKey, key ca.KeyRef) (*x509.Certificate, error)
	Issuer(name string) (*ca.Issuer, error)
}

var _ Authority = (*ca.Authority)(nil)

// SealKeys provides each tenant's platform-seal key from the key manager.
type SealKeys interface {
	// SealKey returns the tenant's seal signer and its key reference.
	SealKey(ctx context.Context, tenant string) (crypto.Signer, ca.KeyRef, error)
}

// Config configures a [Service].
type Config struct {
	// Store keeps links, sessions and code state.
	Store Store
	// Workflow is the envelope workflow; it may be set later with
	// [Service.Bind], since the workflow needs the service as its
	// notifier and completer.
	Workflow Workflow
	// Blobs stores the signed document versions.
	Blobs blob.Store
	// Mailer sends links and codes.
	Mailer mail.Mailer
	// Audit records authentication attempts (fail closed).
	Audit auditlog.Recorder
	// CA issues the recipients' short-lived certificates and the seal
	// certificates; Seal provides the seal keys.
	CA   Authority
	Seal SealKeys
	// Timestamper is the time-stamp authority of signatures and document
	// time-stamps (the built-in TSA); Fetcher gathers validation data for
	// the seal's B-LTA.
	Timestamper pades.Timestamper
	Fetcher     pades.ValidationFetcher
	// LinkURL is the address recipients open, e.g.
	// "https://sign.example.org/sign"; the token is appended as the URL
	// fragment.
	LinkURL string
	// CodeKey keys the hash of one-time codes (32 bytes; from the data
	// directory's master key), so that a copy of the database does not
	// reveal pending codes by brute force.
	CodeKey []byte
	// LinkTTL, CodeTTL, SessionTTL, MaxFailures, CodeSends and
	// CodeWindow override the defaults above.
	LinkTTL, CodeTTL, SessionTTL time.Duration
	MaxFailures                  int
	CodeSends                    int
	CodeWindow                   time.Duration
	// Lockouts is the lockout schedule (nil: [DefaultLockouts]): the
	// n-th run of MaxFailures wrong codes locks the recipient out for
	// Lockouts[n-1]; the run after the last revokes their links.
	Lockouts []time.Duration
	// TempDir holds the seal's working files (empty: os.TempDir).
	TempDir string
	// Now is the clock (nil: time.Now); Rand the source of tokens and
	// codes (nil: crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Logger receives failures that are not returned (nil: discard). It
	// never receives tokens or codes.
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("signing: no store")
	case c.Blobs == nil:
		return errors.New("signing: no blob store")
	case c.Mailer == nil:
		return errors.New("signing: no mailer")
	case c.Audit == nil:
		return errors.New("signing: no audit recorder")
	case c.CA == nil || c.Seal == nil:
		return errors.New("signing: no certificate authority or seal keys")
	case c.Timestamper == nil:
		return errors.New("signing: no time-stamp authority")
	case c.Fetcher == nil:
		return errors.New("signing: no validation data fetcher")
	case c.LinkURL == "":
		return errors.New("signing: no link URL")
	case len(c.CodeKey) < 16:
		return errors.New("signing: code key shorter than 16 bytes")
	case c.LinkTTL < 0 || c.CodeTTL < 0 || c.SessionTTL < 0 || c.CodeWindow < 0 || c.MaxFailures < 0 || c.CodeSends < 0:
		return errors.New("signing: negative limit")
	}
	for _, d := range c.Lockouts {
		if d <= 0 {
			return errors.New("signing: a lockout of the schedule is not positive")
		}
	}
	return nil
}

// Service is the recipient side of Signet. Its methods are safe for
// concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	wfMu sync.RWMutex
	wf   Workflow

	randMu sync.Mutex
	authMu sync.Mutex // serializes code sends and checks

	sealMu    sync.Mutex
	sealCerts map[string]*x509.Certificate

	sessions sessionCache
}

// New returns a service over cfg.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.LinkTTL, DefaultLinkTTL)
	def(&cfg.CodeTTL, DefaultCodeTTL)
	def(&cfg.SessionTTL, DefaultSessionTTL)
	if cfg.Lockouts == nil {
		cfg.Lockouts = DefaultLockouts()
	}
	cfg.Lockouts = slices.Clone(cfg.Lockouts)
	def(&cfg.CodeWindow, DefaultCodeWindow)
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.CodeSends == 0 {
		cfg.CodeSends = DefaultCodeSends
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log, wf: cfg.Workflow, sealCerts: map[string]*x509.Certificate{}}, nil
}

// Bind sets the workflow, for when it is built after the service (it takes
// the service as its notifier and completer).
func (s *Service) Bind(wf Workflow) {
	s.wfMu.Lock()
	s.wf = wf
	s.wfMu.Unlock()
}

func (s *Service) workflow() (Workflow, error) {
	s.wfMu.RLock()
	defer s.wfMu.RUnlock()
	if s.wf == nil {
		return nil, withDetail(ErrUnavailable, "the workflow is not ready", errors.New("signing: no workflow bound"))
	}
	return s.wf, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func (s *Service) token() (string, [32]byte, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return newToken(s.cfg.Rand)
}

func (s *Service) random(b []byte) error {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return fmt.Errorf("signing: random: %w", err)
	}
	return nil
}
