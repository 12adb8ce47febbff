package atrest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/dataseal"
)

// Cache bounds and defaults (see [Config]).
const (
	// DefaultCacheSize is the number of objects' keys cached by default.
	DefaultCacheSize = 4096
	// MaxCacheSize bounds Config.CacheSize.
	MaxCacheSize = 1 << 20
	// NoCache as Config.CacheSize turns the cache off.
	NoCache = -1
	// DefaultCacheTTL is how long a cached key is used by default: the
	// longest a shredding on another node goes unnoticed by this one.
	DefaultCacheTTL = time.Minute
	// MaxCacheTTL bounds Config.CacheTTL.
	MaxCacheTTL = time.Hour
)

// UseRecordInterval is the longest time one key.used event of a tenant's
// key-encryption key covers (see [keys.AggregateUses]): a busy tenant's
// key adds a few events per interval to the audit log, not one per
// object opened.
const UseRecordInterval = time.Minute

// KEKLabel is the label of every tenant's key-encryption key in custody.
const KEKLabel = "tenant data keys"

// dataKeyVersion is the version the returned object KEKs report. An
// object's data key never changes (rewrapping changes its wrapping, not
// the key), so there is one version.
const dataKeyVersion = "1"

// Config configures a [Service].
type Config struct {
	// Keys holds the tenants' key-encryption keys. Required.
	Keys *keys.Manager
	// Store keeps the wrapped data keys and the tenants' registry.
	// Required.
	Store Store
	// Backend is the key backend of new tenant keys; "" means the
	// manager's default one.
	Backend string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of data keys; nil means crypto/rand.
	Rand io.Reader
	// CacheSize bounds the objects whose unwrapped keys are cached: 0
	// means DefaultCacheSize, NoCache none; at most MaxCacheSize.
	CacheSize int
	// CacheTTL is how long a cached key is used; 0 means
	// DefaultCacheTTL; at most MaxCacheTTL. A shredding on another
	// node takes effect on this one within it.
	CacheTTL time.Duration
	// Audit records shreddings. Required.
	Audit auditlog.Recorder
}

// A Service gives each object of a tenant a KEK of its own (its data
// key), wrapped by the tenant's key in custody, and destroys them on
// purpose. It is safe for concurrent use, also by several nodes sharing
// one Store and one key custody.
type Service struct {
	keys    *keys.Manager
	store   Store
	backend string
	now     func() time.Time
	audit   auditlog.Recorder
	cache   *cache

	randMu sync.Mutex
	rand   io.Reader
}

// New returns a Service over cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("atrest: no key manager")
	case cfg.Store == nil:
		return nil, errors.New("atrest: no store")
	case cfg.Audit == nil:
		return nil, errors.New("atrest: no audit recorder")
	case cfg.CacheSize < NoCache || cfg.CacheSize > MaxCacheSize:
		return nil, fmt.Errorf("atrest: cache size %d outside %d..%d", cfg.CacheSize, NoCache, MaxCacheSize)
	case cfg.CacheTTL < 0 || cfg.CacheTTL > MaxCacheTTL:
		return nil, fmt.Errorf("atrest: cache TTL %s outside 0..%s", cfg.CacheTTL, MaxCacheTTL)
	}
	s := &Service{keys: cfg.Keys, store: cfg.Store, backend: cfg.Backend, now: cfg.Now, audit: cfg.Audit, rand: cfg.Rand}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	size, ttl := cfg.CacheSize, cfg.CacheTTL
	switch size {
	case 0:
		size = DefaultCacheSize
	case NoCache:
		size = 0
	}
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	s.cache = newCache(size, ttl)
	return s, nil
}

// adLabel separates the data keys' associated data from any other use of
// a tenant's key.
const adLabel = "signet/atrest/data-key"

// keyAD is the associated data a data key is wrapped with: the label, a
// format version, then the tenant and the object, each preceded by its
// length as a 4-byte big-endian integer. A wrapped key copied to another
// object's or tenant's row fails to unwrap.
func keyAD(tenant, object string) []byte {
	b := make([]byte, 0, len(adLabel)+1+8+len(tenant)+len(object))
	b = append(b, adLabel...)
	b = append(b, 1)
	for _, f := range []string{tenant, object} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func checkObject(tenant, object string) error {
	if err := CheckName("tenant", tenant); err != nil {
		return err
	}
	return CheckName("object", object)
}

// ObjectKEK returns the KEK of object in tenant: its data key, as
// dataseal.NewAESKEK("1", key). With create set, a missing data key is
// made (and the tenant's key-encryption key on first use); without, a
// missing one fails with ErrNoKey. A shredded tenant's objects fail with
// an error that is both ErrTenantShredded and ErrNoKey.
//
// Unwrapped keys are cached (see [Config.CacheSize]): a key shredded on
// this node is never served again by its cache; one shredded on another
// node is served for at most [Config.CacheTTL]. A KEK already returned
// stays usable by its holder.
func (s *Service) ObjectKEK(ctx context.Context, tenant, object string, create bool) (dataseal.KEK, error) {
	if err := checkObject(tenant, object); err != nil {
		return nil, err
	}
	id := Cursor{tenant, object}
	if kek := s.cache.get(id, s.now()); kek != nil {
		return kek, nil
	}
	gen := s.cache.generation()
	row, err := s.store.DataKey(ctx, tenant, object)
	var dk []byte
	switch {
	case err == nil:
	case errors.Is(err, ErrNoKey) && create:
		if row, dk, err = s.create(ctx, tenant, object); err != nil {
			return nil, err
		}
	case errors.Is(err, ErrNoKey):
		return nil, s.gone(ctx, tenant, fmt.Errorf("atrest: %s of %s: %w", object, tenant, ErrNoKey))
	default:
		return nil, fmt.Errorf("atrest: %s of %s: %w", object, tenant, err)
	}
	if dk == nil {
		if dk, err = s.keys.Unwrap(ctx, row.KEKID, row.Wrapped, keyAD(tenant, object), keys.AggregateUses(UseRecordInterval)); err != nil {
			return nil, s.gone(ctx, tenant, fmt.Errorf("atrest: unwrap the data key of %s of %s: %w", object, tenant, err))
		}
	}
	if len(dk) != 32 {
		clear(dk)
		return nil, fmt.Errorf("atrest: the data key of %s of %s is %d bytes", object, tenant, len(dk))
	}
	kek := dataseal.NewAESKEK(dataKeyVersion, dk)
	clear(dk)
	s.cache.put(id, kek, s.now(), gen)
	return kek, nil
}

// gone returns err, also wrapping ErrTenantShredded and ErrNoKey if the
// tenant is marked shredded.
func (s *Service) gone(ctx context.Context, tenant string, err error) error {
	if e, rerr := s.store.TenantKEK(ctx, tenant); rerr == nil && e.Shredded {
		return fmt.Errorf("%w: %w (%w)", ErrTenantShredded, ErrNoKey, err)
	}
	return err
}

// create makes, wraps and stores a data key for object, and returns the
// stored row with the key in the clear, or without it (nil) if another
// writer stored one first.
func (s *Service) create(ctx context.Context, tenant, object string) (DataKey, []byte, error) {
	e, err := s.tenantKEK(ctx, tenant)
	if err != nil {
		return DataKey{}, nil, err
	}
	dk := make([]byte, 32)
	s.randMu.Lock()
	_, err = io.ReadFull(s.rand, dk)
	s.randMu.Unlock()
	if err != nil {
		return DataKey{}, nil, fmt.Errorf("atrest: data key: %w", err)
	}
	wrapped, err := s.keys.Wrap(ctx, e.KEKID, dk, keyAD(tenant, object), keys.AggregateUses(UseRecordInterval))
	if err != nil {
		clear(dk)
		return DataKey{}, nil, s.gone(ctx, tenant, fmt.Errorf("atrest: wrap the data key of %s of %s: %w", object, tenant, err))
	}
	v, _, err := keys.ParseWrapped(wrapped)
	if err != nil {
		clear(dk)
		return DataKey{}, nil, err
	}
	row := DataKey{Tenant: tenant, Object: object, KEKID: e.KEKID, KEKVersion: v, Wrapped: wrapped, Created: s.now().UTC()}
	stored, inserted, err := s.store.InsertDataKey(ctx, row)
	if err != nil {
		clear(dk)
		return DataKey{}, nil, fmt.Errorf("atrest: store the data key of %s of %s: %w", object, tenant, err)
	}
	if !inserted {
		clear(dk)
		return stored, nil, nil
	}
	return stored, dk, nil
}

// tenantKEK returns the registry entry of tenant, creating its key in
// custody on first use. Of several nodes creating it at once, one
// registers its key; the others revoke and destroy theirs.
func (s *Service) tenantKEK(ctx context.Context, tenant string) (TenantKEK, error) {
	e, err := s.store.TenantKEK(ctx, tenant)
	if err == nil {
		if e.Shredded {
			return TenantKEK{}, fmt.Errorf("atrest: %s: %w", tenant, ErrTenantShredded)
		}
		return e, nil
	}
	if !errors.Is(err, ErrNoTenantKEK) {
		return TenantKEK{}, fmt.Errorf("atrest: the key of %s: %w", tenant, err)
	}
	k, err := s.keys.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.AES256,
		Tenant: tenant, Label: KEKLabel, Backend: s.backend})
	if err != nil {
		return TenantKEK{}, fmt.Errorf("atrest: create the key of %s: %w", tenant, err)
	}
	e, inserted, err := s.store.InsertTenantKEK(ctx, TenantKEK{Tenant: tenant, KEKID: k.ID, Created: s.now().UTC()})
	if err != nil || !inserted {
		// Not registered: nothing is wrapped by it.
		if derr := s.discard(ctx, k.ID); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if err != nil {
		return TenantKEK{}, fmt.Errorf("atrest: register the key of %s: %w", tenant, err)
	}
	if e.Shredded {
		return TenantKEK{}, fmt.Errorf("atrest: %s: %w", tenant, ErrTenantShredded)
	}
	return e, nil
}

// discard revokes every version of key id not yet revoked, then destroys
// every version not yet destroyed.
func (s *Service) discard(ctx context.Context, id string) error {
	k, err := s.keys.Get(ctx, id)
	if err != nil {
		return err
	}
	live := false
	for _, v := range k.Versions {
		live = live || v.State != keys.StateRevoked && v.State != keys.StateDestroyed
	}
	if live {
		if _, err := s.keys.Revoke(ctx, id, 0, keys.ReasonCessationOfOperation, time.Time{}); err != nil && !errors.Is(err, keys.ErrRevocationHook) {
			return err
		}
		if k, err = s.keys.Get(ctx, id); err != nil {
			return err
		}
	}
	var errs []error
	for _, v := range k.Versions {
		if v.State != keys.StateDestroyed {
			errs = append(errs, s.keys.Destroy(ctx, id, v.Number))
		}
	}
	return errors.Join(errs...)
}

// Shred destroys the data key of object in tenant: its row is deleted
// (overwritten on SQLite, see internal/sqldb) and the cache forgets it,
// after which nothing sealed under it can be opened. Shredding a missing
// key is not an error. A data.shredded event naming the object is
// recorded first; if it cannot be, nothing is shredded.
func (s *Service) Shred(ctx context.Context, tenant, object string) error {
	if err := checkObject(tenant, object); err != nil {
		return err
	}
	ev := auditlog.Event{Type: auditlog.DataShredded, Tenant: tenant, Actor: auditlog.Actor{Kind: auditlog.ActorSystem},
		Outcome: auditlog.OutcomeSuccess, Details: map[string]string{"object": object}}
	if err := s.audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("atrest: shred %s of %s: audit: %w", object, tenant, err)
	}
	_, err := s.store.DeleteDataKey(ctx, tenant, object)
	// After the delete: a load that read the row before it began before
	// this eviction, and does not cache what it read.
	s.cache.evict(Cursor{tenant, object})
	if err != nil {
		return fmt.Errorf("atrest: shred %s of %s: %w", object, tenant, err)
	}
	return nil
}

// ShredTenant destroys every key of tenant: it marks the tenant shredded
// (no new data key is made for it from then on), revokes then destroys
// every version of its key-encryption keys in custody, and deletes its
// data keys. A tenant.keys_shredded event is recorded first. It is
// idempotent: running it again completes a run that failed halfway.
func (s *Service) ShredTenant(ctx context.Context, tenant string) error {
	if err := CheckName("tenant", tenant); err != nil {
		return err
	}
	ev := auditlog.Event{Type: auditlog.TenantKeysShredded, Tenant: tenant, Actor: auditlog.Actor{Kind: auditlog.ActorSystem},
		Outcome: auditlog.OutcomeSuccess, Details: map[string]string{"scope": "data keys"}}
	if e, err := s.store.TenantKEK(ctx, tenant); err == nil {
		ev.Subject.KeyID = e.KEKID
	}
	if err := s.audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("atrest: shred %s: audit: %w", tenant, err)
	}
	e, err := s.store.MarkTenantShredded(ctx, tenant, s.now().UTC())
	s.cache.evictTenant(tenant)
	if err != nil {
		return fmt.Errorf("atrest: shred %s: %w", tenant, err)
	}
	// Every data-key-wrapping key of ours for the tenant: the registered
	// one, and any a crashed node created without registering.
	ks, err := s.keys.List(ctx, tenant)
	if err != nil {
		return fmt.Errorf("atrest: shred %s: %w", tenant, err)
	}
	var errs []error
	for _, k := range ks {
		// k.Tenant is checked too: List reads "*" as every tenant.
		if k.Tenant == tenant && k.Purpose == keys.PurposeDataKeyWrapping && (k.ID == e.KEKID || k.Label == KEKLabel) {
			if err := s.discard(ctx, k.ID); err != nil {
				errs = append(errs, fmt.Errorf("atrest: shred %s: key %s: %w", tenant, k.ID, err))
			}
		}
	}
	if _, err := s.store.DeleteTenantDataKeys(ctx, tenant); err != nil {
		errs = append(errs, fmt.Errorf("atrest: shred %s: %w", tenant, err))
	}
	s.cache.evictTenant(tenant)
	return errors.Join(errs...)
}

// RotateTenantKEK gives tenant's key-encryption key a new active
// version, which wraps the data keys made from then on; the older ones
// still unwrap until [Service.Rewrap] moved their data keys over. A
// tenant without a key yet fails with ErrNoKey.
func (s *Service) RotateTenantKEK(ctx context.Context, tenant string) (keys.KeyVersionRef, error) {
	if err := CheckName("tenant", tenant); err != nil {
		return keys.KeyVersionRef{}, err
	}
	e, err := s.store.TenantKEK(ctx, tenant)
	switch {
	case errors.Is(err, ErrNoTenantKEK):
		return keys.KeyVersionRef{}, fmt.Errorf("atrest: %s has no key yet: %w", tenant, ErrNoKey)
	case err != nil:
		return keys.KeyVersionRef{}, fmt.Errorf("atrest: rotate the key of %s: %w", tenant, err)
	case e.Shredded:
		return keys.KeyVersionRef{}, fmt.Errorf("atrest: %s: %w", tenant, ErrTenantShredded)
	}
	return s.keys.Rotate(ctx, e.KEKID)
}

// rewrapPage is the number of data keys Rewrap reads at once.
const rewrapPage = 256

// Rewrap re-wraps every data key of tenant ("" for every tenant) that is
// not wrapped by its key-encryption key's active version, under that
// version, and returns how many it re-wrapped. Documents and sealed
// fields are not touched: their data keys stay the same. Each row is
// replaced only if nobody changed it meanwhile (a concurrent rewrap or
// shredding wins). Shredded tenants are skipped. Afterwards the older
// versions may be destroyed. Errors are collected; the other rows are
// still re-wrapped.
func (s *Service) Rewrap(ctx context.Context, tenant string) (int, error) {
	if tenant != "" {
		if err := CheckName("tenant", tenant); err != nil {
			return 0, err
		}
	}
	active := map[string]int{} // KEK id → active version; 0 to skip
	var errs []error
	n := 0
	after := Cursor{}
	for {
		page, err := s.store.ListDataKeys(ctx, tenant, after, rewrapPage)
		if err != nil {
			return n, errors.Join(append(errs, fmt.Errorf("atrest: rewrap: %w", err))...)
		}
		for _, row := range page {
			if err := ctx.Err(); err != nil {
				return n, errors.Join(append(errs, err)...)
			}
			v, ok := active[row.KEKID]
			if !ok {
				v, err = s.activeVersion(ctx, row)
				if err != nil {
					errs = append(errs, err)
				}
				active[row.KEKID] = v
			}
			if v == 0 || row.KEKVersion == v {
				continue
			}
			done, err := s.rewrap(ctx, row)
			if err != nil {
				errs = append(errs, err)
			}
			if done {
				n++
			}
		}
		if len(page) < rewrapPage {
			return n, errors.Join(errs...)
		}
		last := page[len(page)-1]
		after = Cursor{last.Tenant, last.Object}
	}
}

// activeVersion returns the active version of row's KEK, or 0 if its rows
// are to be skipped (the tenant is shredded).
func (s *Service) activeVersion(ctx context.Context, row DataKey) (int, error) {
	if e, err := s.store.TenantKEK(ctx, row.Tenant); err == nil && e.Shredded {
		return 0, nil
	}
	k, err := s.keys.Get(ctx, row.KEKID)
	if err != nil {
		return 0, fmt.Errorf("atrest: rewrap %s: key %s: %w", row.Tenant, row.KEKID, err)
	}
	a := k.Active()
	if a == nil {
		return 0, fmt.Errorf("atrest: rewrap %s: key %s has no active version: %w", row.Tenant, row.KEKID, keys.ErrState)
	}
	return a.Number, nil
}

// rewrap re-wraps one row and reports whether it replaced it.
func (s *Service) rewrap(ctx context.Context, row DataKey) (bool, error) {
	ad := keyAD(row.Tenant, row.Object)
	dk, err := s.keys.Unwrap(ctx, row.KEKID, row.Wrapped, ad, keys.AggregateUses(UseRecordInterval))
	if err != nil {
		return false, fmt.Errorf("atrest: rewrap %s of %s: %w", row.Object, row.Tenant, err)
	}
	wrapped, err := s.keys.Wrap(ctx, row.KEKID, dk, ad, keys.AggregateUses(UseRecordInterval))
	clear(dk)
	if err != nil {
		return false, fmt.Errorf("atrest: rewrap %s of %s: %w", row.Object, row.Tenant, err)
	}
	v, _, err := keys.ParseWrapped(wrapped)
	if err != nil {
		return false, err
	}
	switch err := s.store.UpdateWrapped(ctx, row, wrapped, v); {
	case errors.Is(err, ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("atrest: rewrap %s of %s: %w", row.Object, row.Tenant, err)
	}
	return true, nil
}
