package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// Config configures a [Manager].
type Config struct {
	// Store keeps the key metadata.
	Store Store
	// Backends hold key material, looked up by [Backend.Name]; the first
	// is the default for new keys.
	Backends []Backend
	// Recorder receives an event for every key operation.
	Recorder Recorder
	// Actor is recorded as the actor of every event; the zero value means
	// the system itself.
	Actor auditlog.Actor
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of key ids; nil means crypto/rand.
	Rand io.Reader
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("keys: no store")
	}
	if len(c.Backends) == 0 {
		return errors.New("keys: no backend")
	}
	if c.Recorder == nil {
		return errors.New("keys: no audit recorder")
	}
	seen := map[string]bool{}
	for _, b := range c.Backends {
		if b == nil || b.Name() == "" {
			return errors.New("keys: backend without a name")
		}
		if seen[b.Name()] {
			return fmt.Errorf("keys: backend %q listed twice", b.Name())
		}
		seen[b.Name()] = true
	}
	return nil
}

// A Manager creates purpose-bound keys in its backends and hands out
// guarded signers, wrapping and MAC operations over them. It enforces
// purposes, version states and usage limits, rotates and revokes, and
// records every operation in the audit log before carrying it out.
//
// A Manager is safe for concurrent use.
type Manager struct {
	store    Store
	backends map[string]Backend
	def      Backend
	rec      Recorder
	actor    auditlog.Actor
	now      func() time.Time
	rand     io.Reader
	randMu   sync.Mutex

	hooksMu sync.RWMutex
	hooks   []RevocationHook

	reserved reservations
	blocks   useBlocks
}

// New returns a Manager over cfg.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		store:    cfg.Store,
		backends: map[string]Backend{},
		def:      cfg.Backends[0],
		rec:      cfg.Recorder,
		actor:    cfg.Actor,
		now:      cfg.Now,
		rand:     cfg.Rand,
	}
	for _, b := range cfg.Backends {
		m.backends[b.Name()] = b
	}
	if m.actor.Kind == "" {
		m.actor = auditlog.Actor{Kind: auditlog.ActorSystem}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	return m, nil
}

// A CreateRequest describes a new key.
type CreateRequest struct {
	// Purpose is required.
	Purpose Purpose
	// Algorithm defaults to the purpose's first allowed algorithm.
	Algorithm Algorithm
	// Tenant owns the key; "" for platform keys.
	Tenant string
	// Label is a human name.
	Label string
	// RotateAfter is the rotation age; zero means never by age.
	RotateAfter time.Duration
	// UsageLimit rotates the active version after that many operations;
	// zero means no limit.
	UsageLimit int64
	// Backend names the backend; "" means the default one.
	Backend string
}

// Create generates version 1 of a new key in the backend and stores its
// metadata. The creation is recorded (key.created) before the material
// is generated; if the record fails nothing is generated.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*Key, error) {
	if !req.Purpose.Valid() {
		return nil, fmt.Errorf("%w: unknown purpose %q", ErrPurpose, req.Purpose)
	}
	if req.Algorithm == "" {
		req.Algorithm = req.Purpose.Algorithms()[0]
	}
	if !req.Purpose.Allows(req.Algorithm) {
		return nil, fmt.Errorf("%w: %s keys cannot be %s (allowed: %v)", ErrAlgorithm, req.Purpose, req.Algorithm, req.Purpose.Algorithms())
	}
	if req.RotateAfter < 0 || req.UsageLimit < 0 {
		return nil, errors.New("keys: negative rotate-after or usage limit")
	}
	b := m.def
	if req.Backend != "" {
		var ok bool
		if b, ok = m.backends[req.Backend]; !ok {
			return nil, fmt.Errorf("%w: no backend named %q", ErrBackendUnavailable, req.Backend)
		}
	}
	id, err := m.newID()
	if err != nil {
		return nil, err
	}
	now := m.now().UTC()
	k := &Key{
		ID: id, Purpose: req.Purpose, Algorithm: req.Algorithm, Backend: b.Name(),
		Tenant: req.Tenant, Label: req.Label, Created: now,
		RotateAfter: req.RotateAfter, UsageLimit: req.UsageLimit,
	}
	if err := m.attempt(ctx, opGenerate, k, 1, map[string]string{"label": req.Label}); err != nil {
		return nil, err
	}
	v, err := m.generate(ctx, b, k, 1)
	if err != nil {
		return nil, m.fail(ctx, opGenerate, k, 1, err)
	}
	k.Versions = []Version{v}
	if err := m.store.Create(ctx, k); err != nil {
		_ = b.Destroy(ctx, v.Handle)
		return nil, m.fail(ctx, opGenerate, k, 1, fmt.Errorf("keys: store key %s: %w", id, err))
	}
	return k.Clone(), nil
}

// Import is [Manager.Create] with the key's material given: key becomes
// version 1, sealed or stored by the default backend (which must be an
// [Importer]). The key.created event records that it was imported. Use it
// only to take into custody a key an earlier version kept elsewhere.
func (m *Manager) Import(ctx context.Context, req CreateRequest, key crypto.Signer) (*Key, error) {
	if !req.Purpose.Allows(req.Algorithm) {
		return nil, fmt.Errorf("%w: %s keys cannot be %s", ErrAlgorithm, req.Purpose, req.Algorithm)
	}
	imp, ok := m.def.(Importer)
	if !ok {
		return nil, fmt.Errorf("%w: backend %s cannot import keys", ErrUnsupportedAlgorithm, m.def.Name())
	}
	id, err := m.newID()
	if err != nil {
		return nil, err
	}
	now := m.now().UTC()
	k := &Key{ID: id, Purpose: req.Purpose, Algorithm: req.Algorithm, Backend: m.def.Name(),
		Tenant: req.Tenant, Label: req.Label, Created: now}
	if err := m.attempt(ctx, opGenerate, k, 1, map[string]string{"label": req.Label, "imported": "true"}); err != nil {
		return nil, err
	}
	h, pub, err := imp.Import(ctx, req.Algorithm, fmt.Sprintf("%s/v1", id), key)
	if err != nil {
		return nil, m.fail(ctx, opGenerate, k, 1, fmt.Errorf("keys: import %s: %w", id, err))
	}
	k.Versions = []Version{{Number: 1, Handle: h, Public: pub, State: StateActive, Created: now}}
	if err := m.store.Create(ctx, k); err != nil {
		_ = m.def.Destroy(ctx, h)
		return nil, m.fail(ctx, opGenerate, k, 1, fmt.Errorf("keys: store key %s: %w", id, err))
	}
	return k.Clone(), nil
}

// generate makes version n of k in b.
func (m *Manager) generate(ctx context.Context, b Backend, k *Key, n int) (Version, error) {
	label := fmt.Sprintf("%s/v%d", k.ID, n)
	h, pub, err := b.Generate(ctx, k.Algorithm, label)
	if err != nil {
		return Version{}, fmt.Errorf("keys: generate %s in %s: %w", label, b.Name(), err)
	}
	if k.Algorithm.Asymmetric() && pub == nil {
		_ = b.Destroy(ctx, h)
		return Version{}, fmt.Errorf("keys: backend %s returned no public key for %s", b.Name(), label)
	}
	return Version{Number: n, Handle: h, Public: pub, State: StateActive, Created: m.now().UTC()}, nil
}

// newID returns a fresh key id: "k" and 16 base32 characters (80 random
// bits).
func (m *Manager) newID() (string, error) {
	var b [10]byte
	m.randMu.Lock()
	_, err := io.ReadFull(m.rand, b[:])
	m.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("keys: key id: %w", err)
	}
	return "k" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// backend returns the backend holding k.
func (m *Manager) backend(k *Key) (Backend, error) {
	b, ok := m.backends[k.Backend]
	if !ok {
		return nil, fmt.Errorf("%w: key %s lives in backend %q, which is not configured", ErrBackendUnavailable, k.ID, k.Backend)
	}
	return b, nil
}

// Get returns the metadata of key id.
func (m *Manager) Get(ctx context.Context, id string) (*Key, error) {
	return m.store.Get(ctx, id)
}

// List returns the keys of tenant, or every key if tenant is "*".
func (m *Manager) List(ctx context.Context, tenant string) ([]*Key, error) {
	return m.store.List(ctx, tenant)
}

// PublicKey returns the public key of version n of key id (the active
// version if n is 0). Public keys stay available in every state, so that
// old signatures can still be checked.
func (m *Manager) PublicKey(ctx context.Context, id string, n int) (crypto.PublicKey, KeyVersionRef, error) {
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, KeyVersionRef{}, err
	}
	if !k.Algorithm.Asymmetric() {
		return nil, KeyVersionRef{}, fmt.Errorf("%w: %s is a symmetric %s key", ErrPurpose, id, k.Algorithm)
	}
	v, err := pickVersion(k, n)
	if err != nil {
		return nil, KeyVersionRef{}, err
	}
	return v.Public, KeyVersionRef{KeyID: id, Version: v.Number}, nil
}

// pickVersion returns version n of k, or the active one if n is 0.
func pickVersion(k *Key, n int) (*Version, error) {
	if n == 0 {
		if v := k.Active(); v != nil {
			return v, nil
		}
		return nil, fmt.Errorf("%w: %s has no active version", ErrState, k.ID)
	}
	if v := k.Version(n); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("%w: %s has no version %d", ErrNotFound, k.ID, n)
}
