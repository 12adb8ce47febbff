package signing

import (
	"context"
	"crypto"
	"crypto/cipher"
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
	"github.com/signet-pki/signet/internal/cluster"
	"github.com/signet-pki/signet/internal/identity/passkey"
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
	ConsentRecordedText(ctx context.Context, a workflow.Actor, envelopeID, textSHA256 string) (*workflow.Envelope, error)
	ConsentText(ctx context.Context, tenant string) (workflow.ConsentText, error)
	PageSizes(ctx context.Context, tenant, sum string) ([]workflow.PageSize, error)
	RecipientSigned(ctx context.Context, a workflow.Actor, envelopeID, documentID, newSHA256 string) (workflow.Progress, error)
	RecipientDeclined(ctx context.Context, a workflow.Actor, envelopeID, reason string) (*workflow.Envelope, error)
	OpenEnvelopeDocument(ctx context.Context, a workflow.Actor, envelopeID, documentID string) (blob.Reader, *workflow.EnvelopeDocument, error)
	LockDocument(ctx context.Context, id string) (context.Context, func(), error)
	Complete(ctx context.Context, id string) (*workflow.Envelope, error)
	// The contents of documents, sealed or not as the workflow keeps
	// them.
	workflow.Contents
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
	// ObserveSign, if set, is called as each [Service.Sign] starts; the
	// context it returns carries the signing (a trace span may ride in
	// it) and the function it returns is called once with the outcome
	// (nil when the recipient's signatures were made). Metrics and traces
	// use it; nil costs nothing.
	ObserveSign func(ctx context.Context) (context.Context, func(err error))
	// Keys seals what the recipient side stores at rest under the owning
	// tenant's keys (nil: nothing is sealed; the service always sets it).
	Keys workflow.KeyRing
	// Mailer sends links and codes.
	Mailer mail.Mailer
	// SMS sends the one-time codes of sms_code recipients (nil: none
	// configured; their codes are then refused, and the workflow's
	// SMSGateway option must be off so that no such recipient is
	// accepted).
	SMS SMSSender
	// AllowLinkOnly is the service option that lets link_only recipients
	// in, in envelopes that allow them (off by default). It is checked at
	// every verification, so turning it off shuts out such recipients of
	// envelopes already sent; the workflow's AllowLinkOnly option governs
	// their creation.
	AllowLinkOnly bool
	// Audit records authentication attempts (fail closed).
	Audit auditlog.Recorder
	// CA issues the recipients' short-lived certificates and the seal
	// certificates; Seal provides the seal keys.
	CA   Authority
	Seal SealKeys
	// Timestamper is the time-stamp authority of signature time-stamps
	// (the built-in TSA); Fetcher gathers validation data for the seal's
	// B-LTA.
	Timestamper pades.Timestamper
	Fetcher     pades.ValidationFetcher
	// ArchiveTimestamper is the authority of the seal's document
	// time-stamp, the document's latest time-stamp, which must outlive
	// the signature time-stamps (the built-in archive TSA); nil means
	// Timestamper.
	ArchiveTimestamper pades.Timestamper
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
	// Now is the clock (nil: time.Now); Rand the source of tokens and
	// codes (nil: crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Logger receives failures that are not returned (nil: discard). It
	// never receives tokens or codes.
	Logger *slog.Logger
	// Webhooks, if set, is told of recipients' failed authentications
	// (recipient.authentication_failed: the envelope, the recipient, the
	// reason and whether it locked them out; never the code), after the
	// failure is recorded (*webhook.Service implements it).
	Webhooks interface {
		Notify(ctx context.Context, tenant, eventType string, data any) error
	}
	// Locks holds the recipients' locks, under which their one-time-code
	// state is read and replaced (nil: in-process locks of the service's
	// own). Nodes that share the Store MUST share it.
	Locks Locker
	// Passkeys is the WebAuthn relying party with which passkey
	// recipients confirm what they sign, and Users finds the registered
	// user behind such a recipient, or a totp one (an active user of the
	// envelope's tenant with the recipient's address). Passkeys needs
	// Users; without Passkeys, a passkey recipient's confirmation answers
	// 503 and nothing weaker is offered.
	Passkeys *passkey.Service
	Users    Users
	// TOTPSecrets opens registered users' sealed TOTP secrets
	// (login.TOTPKeys over the login service's sealer) and
	// TOTPEnrolments holds their enrolments (identity.Store), with
	// which totp recipients verify a code of their authenticator; they
	// also need Users. Set both or neither; with neither, a totp
	// recipient's verification answers 503 and nothing weaker is
	// offered.
	TOTPSecrets    TOTPOpener
	TOTPEnrolments TOTPEnrolments
}

// A Locker takes named locks: Lock waits until the lock named key is free
// or ctx is done, and returns the function that releases it. The keys of
// this package are "recipient/<envelope id>/<recipient id>".
// [cluster.LocalLocks] hold within one process; a Locker held in the
// database holds across the nodes that share it.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("signing: no store")
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
	case c.Passkeys != nil && c.Users == nil:
		return errors.New("signing: passkeys need both a relying party (Passkeys) and a user directory (Users)")
	case (c.TOTPSecrets == nil) != (c.TOTPEnrolments == nil):
		return errors.New("signing: TOTP recipients need both TOTPSecrets and TOTPEnrolments")
	case c.TOTPSecrets != nil && c.Users == nil:
		return errors.New("signing: TOTP recipients need a user directory (Users)")
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

// validateNotifier reports whether the configuration is usable by a
// [Notifier].
func (c *Config) validateNotifier() error {
	switch {
	case c.Store == nil:
		return errors.New("signing: no store")
	case c.Mailer == nil:
		return errors.New("signing: no mailer")
	case c.LinkURL == "":
		return errors.New("signing: no link URL")
	case c.LinkTTL < 0:
		return errors.New("signing: negative limit")
	}
	return nil
}

// validateSealer reports whether the configuration is usable by a
// [Sealer].
func (c *Config) validateSealer() error {
	switch {
	case c.CA == nil || c.Seal == nil:
		return errors.New("signing: no certificate authority or seal keys")
	case c.Timestamper == nil:
		return errors.New("signing: no time-stamp authority")
	case c.Fetcher == nil:
		return errors.New("signing: no validation data fetcher")
	}
	return nil
}

// withDefaults returns c with the defaults of unset fields.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.LinkTTL, DefaultLinkTTL)
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.SessionTTL, DefaultSessionTTL)
	if c.Lockouts == nil {
		c.Lockouts = DefaultLockouts()
	}
	c.Lockouts = slices.Clone(c.Lockouts)
	def(&c.CodeWindow, DefaultCodeWindow)
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.CodeSends == 0 {
		c.CodeSends = DefaultCodeSends
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Keys != nil {
		c.Store = SealStore(c.Store, c.Keys, rand.Reader)
	}
	return c
}

// base is what the notifier, the sealer and the service each hold: the
// configuration with its defaults, the logger and the source of tokens
// and codes.
type base struct {
	cfg Config
	// rawStore is Config.Store as given; cfg.Store is it sealed
	// ([SealStore]) when Config.Keys is set.
	rawStore Store
	log      *slog.Logger
	rand     *lockedReader
}

func newBase(cfg Config) base {
	raw := cfg.Store
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return base{cfg: cfg, rawStore: raw, log: log, rand: &lockedReader{r: cfg.Rand}}
}

// lockedReader serializes reads of a source of randomness that may not be
// safe for concurrent use (a test's deterministic reader).
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

// Notifier contacts recipients for the envelope workflow (it is the
// workflow's [workflow.Notifier]): it issues and emails their links, and
// tells them when an envelope completes or ends. Build it first, from the
// same configuration as the [Service], and pass it to workflow.New and to
// [New]. Its methods are safe for concurrent use.
type Notifier struct{ base }

// NewNotifier returns the notifier of cfg (Store, Mailer, LinkURL,
// LinkTTL, Now, Rand and Logger are used).
func NewNotifier(cfg Config) (*Notifier, error) {
	if err := cfg.validateNotifier(); err != nil {
		return nil, err
	}
	return &Notifier{newBase(cfg)}, nil
}

// Sealer seals completed envelopes for the envelope workflow (it is the
// workflow's [workflow.Completer]). Build it first, from the same
// configuration as the [Service], and pass it to workflow.New. Its
// methods are safe for concurrent use.
type Sealer struct {
	base
	mu sync.Mutex
	// certs holds the seal certificate of each tenant that this process
	// issued: each node issues and renews its own, all of them valid.
	certs map[string]*x509.Certificate
}

// NewSealer returns the sealer of cfg (CA, Seal, Timestamper,
// ArchiveTimestamper, Fetcher and Now are used).
func NewSealer(cfg Config) (*Sealer, error) {
	if err := cfg.validateSealer(); err != nil {
		return nil, err
	}
	return &Sealer{base: newBase(cfg), certs: map[string]*x509.Certificate{}}, nil
}

// Service is the recipient side of Signet. Its methods are safe for
// concurrent use.
type Service struct {
	base
	wf       Workflow
	notifier *Notifier

	locks Locker
	// ceremonies seals pending passkey ceremonies.
	ceremonies cipher.AEAD
}

// New returns the service over cfg, the envelope workflow wf (built with
// the notifier n and a [Sealer] of the same configuration) and n, through
// which it emails one-time codes and re-issued links.
func New(cfg Config, wf Workflow, n *Notifier) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if wf == nil || n == nil {
		return nil, errors.New("signing: no workflow or no notifier")
	}
	b := newBase(cfg)
	// One source of randomness, read under one lock, for link tokens,
	// session tokens and codes.
	b.rand = n.rand
	locks := cfg.Locks
	if locks == nil {
		locks = cluster.NewLocalLocks()
	}
	aead, err := ceremonyAEAD(cfg.CodeKey)
	if err != nil {
		return nil, err
	}
	return &Service{base: b, wf: wf, notifier: n, locks: locks, ceremonies: aead}, nil
}

// lockRecipient takes the lock of recipient recipientID of envelope
// envelopeID, which serializes the reads and writes of their code state
// (code sends, checks, lockouts, re-issues).
func (s *Service) lockRecipient(ctx context.Context, envelopeID, recipientID string) (func(), error) {
	return s.locks.Lock(ctx, "recipient/"+envelopeID+"/"+recipientID)
}

func (b *base) now() time.Time { return b.cfg.Now().UTC() }

func (b *base) token() (string, [32]byte, error) {
	b.rand.mu.Lock()
	defer b.rand.mu.Unlock()
	return newToken(b.rand.r)
}

func (b *base) random(p []byte) error {
	b.rand.mu.Lock()
	defer b.rand.mu.Unlock()
	if _, err := io.ReadFull(b.rand.r, p); err != nil {
		return fmt.Errorf("signing: random: %w", err)
	}
	return nil
}
