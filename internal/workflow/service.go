package workflow

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/cluster"
)

// DefaultMaxDocumentSize is the default upload limit, 25 MB.
const DefaultMaxDocumentSize = 25 << 20

// DefaultMaxDecodedSize is the default decoding budget of the upload
// check, 256 MiB.
const DefaultMaxDecodedSize = 256 << 20

// DefaultExpiry is how long a sent envelope stays open when its draft
// names no expiry.
const DefaultExpiry = 30 * 24 * time.Hour

// MaxExpiry bounds how far in the future an envelope may expire.
const MaxExpiry = 366 * 24 * time.Hour

// ActiveContentPolicy says what to do with an uploaded PDF that carries
// JavaScript or launch actions.
type ActiveContentPolicy string

// Active content policies.
const (
	// PolicyRefuse refuses such uploads (the default).
	PolicyRefuse ActiveContentPolicy = "refuse"
)

// Config configures a [Service].
type Config struct {
	// Documents and Envelopes are the repositories (package workflowsql
	// implements both on SQLite).
	Documents DocumentStore
	Envelopes EnvelopeStore
	// Blobs holds document content.
	Blobs blob.Store
	// Keys seals what is stored at rest under the owning tenant's keys
	// (nil: nothing is sealed, for tests and single-purpose tools; the
	// service always sets it): documents' names and envelopes' free-text
	// fields ([SealDocuments], [SealEnvelopes]). With Keys, each version
	// of a document's bytes is a [Content] of its tenant: a [dataseal]
	// stream under the data key of object [ContentObject] in Blobs, with
	// its row in Contents; deleting it shreds that key. Without, versions
	// are plain blobs named by their SHA-256, a signed one a revision of
	// the version it signs ([blob.Store.Append]), as before sealing
	// existed; such versions stay readable once Keys is set.
	Keys KeyRing
	// Contents holds the rows of sealed contents and deletes documents
	// and finished envelopes (nil: Documents, if it implements
	// [ContentStore], as both drivers' stores do). Keys, Retention and
	// [Service.DeleteDocument] need it.
	Contents ContentStore
	// Settings keeps the tenants' settings (their consent text); nil:
	// Documents, if it implements [SettingsStore], as both drivers'
	// stores do. Without one, every tenant has the defaults.
	Settings SettingsStore
	// Retention is how long finished (completed, declined, voided or
	// expired) envelopes are kept: the scheduler purges those finished
	// longer ago ([Service.PurgeFinished]). Zero keeps them forever.
	Retention time.Duration
	// Audit records every state change; a failure to record fails the
	// change (fail closed).
	Audit auditlog.Recorder
	// Notifier contacts recipients; Completer seals completed envelopes.
	Notifier  Notifier
	Completer Completer
	// MaxDocumentSize bounds uploads in bytes (default 25 MB).
	MaxDocumentSize int64
	// MaxDecodedSize is the decoding budget of the upload check, in bytes
	// (default [DefaultMaxDecodedSize]): what one document may decompress
	// to and read as stream data, in total. Beyond it the upload is
	// refused with [ErrDecodeBudget].
	MaxDecodedSize int64
	// ActiveContent is the policy for PDFs with JavaScript or launch
	// actions; only [PolicyRefuse] is implemented.
	ActiveContent ActiveContentPolicy
	// Now is the clock (nil: time.Now); Rand the source of ids (nil:
	// crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Logger receives scheduler and notification failures (nil: discard).
	Logger *slog.Logger
	// Locks holds the envelope and document locks (nil: [cluster.LocalLocks]
	// of the service's own). Nodes that share the stores MUST share it.
	Locks Locker
	// SMSGateway reports that an SMS gateway is configured for the
	// signing side; without one, envelopes with [AuthSMSCode] recipients
	// are refused (fail closed).
	SMSGateway bool
	// AllowLinkOnly is the service option that permits [AuthLinkOnly]
	// recipients, in envelopes that allow them too (off by default).
	AllowLinkOnly bool
	// Webhooks, if set, announces changes to the tenants' webhook
	// endpoints (see [WebhookEvents]); nil sends none.
	Webhooks WebhookEvents
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	switch {
	case c.Documents == nil || c.Envelopes == nil:
		return errors.New("workflow: no stores")
	case c.Blobs == nil:
		return errors.New("workflow: no blob store")
	case c.Audit == nil:
		return errors.New("workflow: no audit recorder")
	case c.Notifier == nil:
		return errors.New("workflow: no notifier")
	case c.Completer == nil:
		return errors.New("workflow: no completer")
	case c.MaxDocumentSize < 0:
		return errors.New("workflow: negative MaxDocumentSize")
	case c.MaxDecodedSize < 0:
		return errors.New("workflow: negative MaxDecodedSize")
	case c.ActiveContent != "" && c.ActiveContent != PolicyRefuse:
		return fmt.Errorf("workflow: unsupported active content policy %q", c.ActiveContent)
	case c.Retention < 0:
		return errors.New("workflow: negative Retention")
	case (c.Keys != nil || c.Retention > 0) && c.contentStore() == nil:
		return errors.New("workflow: sealed contents and retention need a content store (Contents)")
	}
	return nil
}

// contentStore returns Contents, or Documents if it is a ContentStore.
func (c *Config) contentStore() ContentStore {
	if c.Contents != nil {
		return c.Contents
	}
	cs, _ := c.Documents.(ContentStore)
	return cs
}

// Service is the document and envelope workflow. Its methods are safe for
// concurrent use.
type Service struct {
	cfg      Config
	contents ContentStore // nil if there is none (see Config.Contents)
	// settingsStore is nil if there is none (see Config.Settings).
	settingsStore SettingsStore
	randMu        sync.Mutex
	// rawDocs and rawEnvs are the stores as configured; cfg holds them
	// wrapped by [SealDocuments] and [SealEnvelopes] when Keys is set.
	rawDocs DocumentStore
	rawEnvs EnvelopeStore
	locks   Locker
	log     *slog.Logger

	// turns carries the ids of envelopes whose next recipients are to be
	// notified, to the notifiers [Service.Run] starts (see notifyLater).
	turns   chan string
	running atomic.Int32

	// checks holds a token for each upload check under way; its capacity
	// bounds how many run at once, and so the memory they take together
	// (each stays within its decoding budget).
	checks chan struct{}

	// pages remembers the page sizes of contents ([Service.PageSizes]).
	pages pageCache
}

// New returns a service over cfg.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxDocumentSize == 0 {
		cfg.MaxDocumentSize = DefaultMaxDocumentSize
	}
	if cfg.MaxDecodedSize == 0 {
		cfg.MaxDecodedSize = DefaultMaxDecodedSize
	}
	if cfg.ActiveContent == "" {
		cfg.ActiveContent = PolicyRefuse
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
	locks := cfg.Locks
	if locks == nil {
		locks = cluster.NewLocalLocks()
	}
	rawDocs, rawEnvs := cfg.Documents, cfg.Envelopes
	contents, settings := cfg.contentStore(), cfg.settingsStore()
	if cfg.Keys != nil {
		cfg.Documents = SealDocuments(rawDocs, cfg.Keys, rand.Reader)
		cfg.Envelopes = SealEnvelopes(rawEnvs, cfg.Keys, rand.Reader)
	}
	return &Service{cfg: cfg, contents: contents, settingsStore: settings, rawDocs: rawDocs, rawEnvs: rawEnvs, log: log, locks: locks, turns: make(chan string, turnQueue),
		checks: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}, nil
}

// MaxDocumentSize returns the upload limit in bytes.
func (s *Service) MaxDocumentSize() int64 { return s.cfg.MaxDocumentSize }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// newID returns prefix followed by 128 random bits in hex.
func (s *Service) newID(prefix string) (string, error) {
	var b [16]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.cfg.Rand, b[:])
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("workflow: random id: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// newEventID returns a UUIDv7 (RFC 9562 §5.7) from the service's clock and
// randomness, so that a transition can name its audit event.
func (s *Service) newEventID() (string, error) {
	var b [16]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.cfg.Rand, b[6:])
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("workflow: random id: %w", err)
	}
	ms := uint64(s.cfg.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// An Actor is who performs an action, as taken from the authenticated
// principal (never from the request body), with the request it came in.
type Actor struct {
	// Tenant is the principal's tenant. For recipient actions it may be
	// empty (the envelope's tenant applies); if set it must match.
	Tenant string
	// Kind is the audit actor kind: service (API key), user, recipient or
	// system.
	Kind auditlog.ActorKind
	// ID identifies the principal (API key id, recipient id).
	ID string
	// CorrelationID is the server's request id; ClientRequestID the
	// client's own (its X-Request-Id), kept beside it.
	CorrelationID   string
	ClientRequestID string
	// IP and UserAgent describe the client; IP is sealed in the audit log.
	IP        string
	UserAgent string
	// AuthMethods and AuthStrength are how the principal authenticated
	// (RFC 8176 amr values, and the assurance level reached, e.g.
	// "aal2"), recorded as the actor of its events; empty when unknown.
	AuthMethods  []string
	AuthStrength string
	// AuthDetails are facts of the authentication behind a recipient's
	// signature that its signature.created events record beside their
	// own details (package internal/signing sets "auth_method",
	// "auth_time", "auth_evidence_sha256" and "intent_digest" for a
	// passkey confirmation). Keys MUST NOT be those of the event itself;
	// values are short, non-sensitive and never a secret.
	AuthDetails map[string]string
}

// System is the actor of scheduler actions (reminders, expiry, seal).
var System = Actor{Kind: auditlog.ActorSystem, ID: "scheduler"}
