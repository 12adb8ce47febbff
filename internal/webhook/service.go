package webhook

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/keys/dataseal"
)

// A KeyRing gives the key-encryption key of one object of a tenant
// (keys/atrest implements it; see workflow.KeyRing). Endpoint secrets are
// sealed under the object "webhook:<id>", the tenant's Ed25519 signing
// key under "webhook-signing-key".
type KeyRing interface {
	ObjectKEK(ctx context.Context, tenant, object string, create bool) (dataseal.KEK, error)
	Shred(ctx context.Context, tenant, object string) error
}

// Defaults of [Config].
const (
	DefaultOverlap   = 24 * time.Hour
	DefaultRetention = 30 * 24 * time.Hour
	// MaxEndpoints bounds the endpoints of one tenant.
	MaxEndpoints = 50
	// MaxEvents bounds the event types of one endpoint.
	MaxEvents = 32
	// MaxDeliveriesListed bounds GET …/deliveries.
	MaxDeliveriesListed = 100
)

// DefaultSchedule is the delay before each retry (the Standard Webhooks
// recommendation: about 27 hours in all); after the last one the delivery
// is dead-lettered and the endpoint marked failing.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// platformSealTenant is the sealing tenant of the platform's endpoints
// (whose tenant is "").
const platformSealTenant = "_platform"

// Config configures a [Service].
type Config struct {
	// Store holds endpoints, the outbox and deliveries. Required.
	Store Store
	// Keys seals the secrets. Required.
	Keys KeyRing
	// Guard checks URLs at registration and every connection. Nil means
	// the zero Guard (https to public addresses only).
	Guard *Guard
	// Asymmetric adds a v1a Ed25519 signature with the tenant's signing
	// key to every delivery.
	Asymmetric bool
	// Overlap is how long a rotated-out secret keeps signing
	// (DefaultOverlap when 0).
	Overlap time.Duration
	// Schedule is the retry schedule (DefaultSchedule when nil).
	Schedule []time.Duration
	// Retention is how long finished deliveries are kept
	// (DefaultRetention when 0).
	Retention time.Duration
	// Concurrency bounds the deliveries in flight per worker (16 when 0).
	Concurrency int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives delivery failures (never payloads or secrets).
	Logger *slog.Logger
	// OnAttempt, if set, is told the outcome of every delivery attempt
	// (nil: delivered); metrics count them. It MUST return promptly.
	OnAttempt func(err error)
}

// A Service manages endpoints and delivers the outbox.
type Service struct {
	cfg     Config
	guard   *Guard
	client  *http.Client
	mu      sync.Mutex
	signers map[string]ed25519.PrivateKey // tenant → signing key, bounded
	stats   stats
}

// New returns a service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("webhook: Store and Keys are required")
	}
	if cfg.Guard == nil {
		cfg.Guard = &Guard{}
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, guard: cfg.Guard, signers: map[string]ed25519.PrivateKey{}}
	s.client = cfg.Guard.Client()
	return s, nil
}

func sealTenant(tenant string) string {
	if tenant == "" {
		return platformSealTenant
	}
	return tenant
}

func (s *Service) seal(ctx context.Context, tenant, id, field string, secret []byte) ([]byte, error) {
	kek, err := s.cfg.Keys.ObjectKEK(ctx, sealTenant(tenant), "webhook:"+id, true)
	if err != nil {
		return nil, fmt.Errorf("webhook: key of endpoint: %w", err)
	}
	return dataseal.Seal(ctx, kek, dataseal.AD{Tenant: sealTenant(tenant), Object: "webhook:" + id, Field: field}, secret, rand.Reader)
}

func (s *Service) open(ctx context.Context, tenant, id, field string, sealed []byte) (Secret, error) {
	kek, err := s.cfg.Keys.ObjectKEK(ctx, sealTenant(tenant), "webhook:"+id, false)
	if err != nil {
		return nil, fmt.Errorf("webhook: key of endpoint: %w", err)
	}
	b, err := dataseal.Open(ctx, kek, dataseal.AD{Tenant: sealTenant(tenant), Object: "webhook:" + id, Field: field}, sealed)
	if err != nil {
		return nil, fmt.Errorf("webhook: open secret: %w", err)
	}
	return Secret(b), nil
}

// invalid returns a 422 problem.
func invalid(format string, args ...any) error {
	return &api.Error{Kind: api.KindInvalid, Detail: fmt.Sprintf(format, args...)}
}

var errNotFound = &api.Error{Kind: api.KindNotFound, Detail: "no such webhook endpoint"}

func (s *Service) checkEvents(events []string) error {
	if len(events) > MaxEvents {
		return invalid("at most %d event types", MaxEvents)
	}
	for _, e := range events {
		if !KnownEvent(e) {
			return invalid("unknown event type %q", e)
		}
	}
	return nil
}

func (s *Service) checkURL(ctx context.Context, raw string) (string, error) {
	u, err := s.guard.CheckURL(ctx, raw)
	if err != nil {
		return "", &api.Error{Kind: api.KindInvalid, Type: "forbidden-url", Detail: err.Error()}
	}
	return u.String(), nil
}

// Create registers an endpoint for tenant and returns it with its secret,
// which is never shown again.
func (s *Service) Create(ctx context.Context, tenant, rawURL string, events []string, enabled bool) (*Endpoint, Secret, error) {
	if err := s.checkEvents(events); err != nil {
		return nil, nil, err
	}
	u, err := s.checkURL(ctx, rawURL)
	if err != nil {
		return nil, nil, err
	}
	existing, err := s.cfg.Store.Endpoints(ctx, tenant, MaxEndpoints)
	if err != nil {
		return nil, nil, err
	}
	if len(existing) >= MaxEndpoints {
		return nil, nil, &api.Error{Kind: api.KindConflict, Detail: fmt.Sprintf("a tenant has at most %d webhook endpoints", MaxEndpoints)}
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, nil, err
	}
	now := s.cfg.Now()
	e := &Endpoint{ID: newID("wh_"), Tenant: tenant, URL: u, Events: slices.Compact(slices.Sorted(slices.Values(events))),
		Enabled: enabled, CreatedAt: now, UpdatedAt: now}
	if e.Secret, err = s.seal(ctx, tenant, e.ID, "secret", secret); err != nil {
		return nil, nil, err
	}
	if err := s.cfg.Store.InsertEndpoint(ctx, e); err != nil {
		return nil, nil, err
	}
	return e, secret, nil
}

// Get returns tenant's endpoint id.
func (s *Service) Get(ctx context.Context, tenant, id string) (*Endpoint, error) {
	e, err := s.cfg.Store.Endpoint(ctx, tenant, id)
	if errors.Is(err, ErrNoRecord) {
		return nil, errNotFound
	}
	return e, err
}

// List returns tenant's endpoints.
func (s *Service) List(ctx context.Context, tenant string) ([]*Endpoint, error) {
	return s.cfg.Store.Endpoints(ctx, tenant, MaxEndpoints)
}

// PlatformIDPrefix starts the ids of the platform's endpoints, which the
// operator configures by name (see [Service.EnsurePlatformEndpoint]).
const PlatformIDPrefix = "wh_platform_"

// EnsurePlatformEndpoint makes the platform's endpoint named name (its id
// is PlatformIDPrefix + name) deliver events to rawURL, signed with
// secret: it is created, or updated to the configuration and re-enabled.
// The platform's events (tenant "") are its alerts; its endpoints come
// from the server's configuration, never from a tenant's request.
func (s *Service) EnsurePlatformEndpoint(ctx context.Context, name, rawURL string, events []string, secret Secret) (*Endpoint, error) {
	if name == "" || len(name) > 32 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return nil, fmt.Errorf("webhook: platform endpoint name %q: 1-32 of a-z, 0-9 and -", name)
	}
	if err := s.checkEvents(events); err != nil {
		return nil, err
	}
	if len(secret) == 0 {
		return nil, errors.New("webhook: platform endpoint " + name + " has no secret")
	}
	u, err := s.checkURL(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	id := PlatformIDPrefix + name
	now := s.cfg.Now()
	e, err := s.cfg.Store.Endpoint(ctx, "", id)
	fresh := errors.Is(err, ErrNoRecord)
	if err != nil && !fresh {
		return nil, err
	}
	if fresh {
		e = &Endpoint{ID: id, Tenant: "", CreatedAt: now}
	}
	e.URL, e.Events, e.Enabled, e.Failing, e.UpdatedAt = u, slices.Compact(slices.Sorted(slices.Values(events))), true, false, now
	e.PreviousSecret, e.PreviousUntil = nil, time.Time{}
	if e.Secret, err = s.seal(ctx, "", id, "secret", secret); err != nil {
		return nil, err
	}
	if fresh {
		err = s.cfg.Store.InsertEndpoint(ctx, e)
	} else {
		err = s.cfg.Store.UpdateEndpoint(ctx, e)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// A Patch changes an endpoint; nil members are left as they are.
type Patch struct {
	URL     *string
	Events  *[]string
	Enabled *bool
}

// Update applies p to tenant's endpoint id. Re-enabling an endpoint
// clears its failing mark.
func (s *Service) Update(ctx context.Context, tenant, id string, p Patch) (*Endpoint, error) {
	e, err := s.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if p.URL != nil {
		if e.URL, err = s.checkURL(ctx, *p.URL); err != nil {
			return nil, err
		}
	}
	if p.Events != nil {
		if err := s.checkEvents(*p.Events); err != nil {
			return nil, err
		}
		e.Events = slices.Compact(slices.Sorted(slices.Values(*p.Events)))
	}
	if p.Enabled != nil {
		if *p.Enabled && !e.Enabled {
			e.Failing = false
		}
		e.Enabled = *p.Enabled
	}
	e.UpdatedAt = s.cfg.Now()
	if err := s.cfg.Store.UpdateEndpoint(ctx, e); errors.Is(err, ErrNoRecord) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	return e, nil
}

// Delete removes tenant's endpoint id, its deliveries, and shreds the key
// of its secrets.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	if err := s.cfg.Store.DeleteEndpoint(ctx, tenant, id); errors.Is(err, ErrNoRecord) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return s.cfg.Keys.Shred(ctx, sealTenant(tenant), "webhook:"+id)
}

// RotateSecret gives tenant's endpoint id a new secret, returned once; the
// current one keeps signing beside it until the overlap ends.
func (s *Service) RotateSecret(ctx context.Context, tenant, id string) (Secret, time.Time, error) {
	e, err := s.Get(ctx, tenant, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, time.Time{}, err
	}
	cur, err := s.open(ctx, tenant, id, "secret", e.Secret)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := s.cfg.Now()
	if e.PreviousSecret, err = s.seal(ctx, tenant, id, "previous_secret", cur); err != nil {
		return nil, time.Time{}, err
	}
	if e.Secret, err = s.seal(ctx, tenant, id, "secret", secret); err != nil {
		return nil, time.Time{}, err
	}
	e.PreviousUntil = now.Add(s.cfg.Overlap)
	e.UpdatedAt = now
	if err := s.cfg.Store.UpdateEndpoint(ctx, e); errors.Is(err, ErrNoRecord) {
		return nil, time.Time{}, errNotFound
	} else if err != nil {
		return nil, time.Time{}, err
	}
	return secret, e.PreviousUntil, nil
}

// Deliveries lists the deliveries of tenant's endpoint id with their
// attempts.
func (s *Service) Deliveries(ctx context.Context, tenant, id string, limit int) ([]Delivery, map[string][]Attempt, error) {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return nil, nil, err
	}
	if limit <= 0 || limit > MaxDeliveriesListed {
		limit = MaxDeliveriesListed
	}
	return s.cfg.Store.Deliveries(ctx, tenant, id, limit)
}

// Retry makes a delivery of tenant's endpoint id due now, dead-lettered
// or not.
func (s *Service) Retry(ctx context.Context, tenant, id, message string) error {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return err
	}
	err := s.cfg.Store.Retry(ctx, tenant, id, message, s.cfg.Now())
	if errors.Is(err, ErrNoRecord) {
		return &api.Error{Kind: api.KindNotFound, Detail: "no such delivery"}
	}
	return err
}

// Message builds the message of an event for tenant at the service's
// clock, for stores that write it in their own transaction.
func (s *Service) Message(tenant, eventType string, data any) (Message, error) {
	return NewMessage(tenant, eventType, s.cfg.Now(), data)
}

// Notify enqueues an event for tenant ("" for the platform's endpoints)
// in a transaction of its own: for events whose cause has no store
// transaction to share (a recipient's view, an authentication failure, a
// key rotation, an expiring certificate, an alert). It is called after
// the cause is recorded, so a crash between the two loses the event but
// never announces what did not happen.
func (s *Service) Notify(ctx context.Context, tenant, eventType string, data any) error {
	m, err := s.Message(tenant, eventType, data)
	if err != nil {
		return err
	}
	return s.cfg.Store.Enqueue(ctx, []Message{m})
}

// maxSigners bounds the cache of opened signing keys.
const maxSigners = 4096

// signingKey returns tenant's Ed25519 key, creating it on first use.
func (s *Service) signingKey(ctx context.Context, tenant string) (ed25519.PrivateKey, error) {
	s.mu.Lock()
	k, ok := s.signers[tenant]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	st := sealTenant(tenant)
	ad := dataseal.AD{Tenant: st, Object: "webhook-signing-key", Field: "ed25519_seed"}
	sealed, err := s.cfg.Store.SigningKey(ctx, tenant)
	if errors.Is(err, ErrNoRecord) {
		kek, kerr := s.cfg.Keys.ObjectKEK(ctx, st, ad.Object, true)
		if kerr != nil {
			return nil, fmt.Errorf("webhook: signing key: %w", kerr)
		}
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		fresh, serr := dataseal.Seal(ctx, kek, ad, seed, rand.Reader)
		if serr != nil {
			return nil, serr
		}
		sealed, err = s.cfg.Store.InsertSigningKey(ctx, tenant, fresh, s.cfg.Now())
	}
	if err != nil {
		return nil, err
	}
	kek, err := s.cfg.Keys.ObjectKEK(ctx, st, ad.Object, false)
	if err != nil {
		return nil, fmt.Errorf("webhook: signing key: %w", err)
	}
	seed, err := dataseal.Open(ctx, kek, ad, sealed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("webhook: open signing key: %v", err)
	}
	k = ed25519.NewKeyFromSeed(seed)
	s.mu.Lock()
	if len(s.signers) >= maxSigners {
		clear(s.signers)
	}
	s.signers[tenant] = k
	s.mu.Unlock()
	return k, nil
}

// PublicKey returns tenant's Ed25519 public key, verifying the v1a
// signatures of its deliveries.
func (s *Service) PublicKey(ctx context.Context, tenant string) (ed25519.PublicKey, error) {
	if !s.cfg.Asymmetric {
		return nil, &api.Error{Kind: api.KindNotFound, Type: "not-configured", Detail: "asymmetric webhook signatures are disabled (webhooks.asymmetric)"}
	}
	k, err := s.signingKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return k.Public().(ed25519.PublicKey), nil
}

// Backlog returns how many deliveries wait to be sent or retried.
func (s *Service) Backlog(ctx context.Context) (int, error) { return s.cfg.Store.Backlog(ctx) }
