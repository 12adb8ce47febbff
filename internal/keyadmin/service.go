package keyadmin

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
)

// Keys is what the service uses of the key manager (*keys.Manager).
type Keys interface {
	List(ctx context.Context, tenant string) ([]*keys.Key, error)
	Get(ctx context.Context, id string) (*keys.Key, error)
	Rotate(ctx context.Context, id string) (keys.KeyVersionRef, error)
}

// Certificates reads the CA's records (the authority's store, which
// opens sealed records).
type Certificates interface {
	Get(ctx context.Context, serial *big.Int) (ca.Record, error)
	ByKey(ctx context.Context, id, version string) ([]ca.Record, error)
}

// Revoker revokes certificates (*ca.Authority).
type Revoker interface {
	Revoke(ctx context.Context, serial *big.Int, reason ca.Reason, invalid time.Time) (ca.Record, error)
}

// Config configures a [Service]. Keys, Certificates and Revoker are
// required.
type Config struct {
	Keys         Keys
	Certificates Certificates
	Revoker      Revoker
	// RotateKEK rotates tenant's key-encryption key of data at rest
	// (atrest.Service.RotateTenantKEK); nil refuses its rotation.
	RotateKEK func(ctx context.Context, tenant string) (keys.KeyVersionRef, error)
	// CertifySeal issues the certificate of tenant's seal key's active
	// version (signing.Sealer.SealKey), called after the seal key's
	// rotation so that the new version is listed with its certificate;
	// nil leaves it to the next seal.
	CertifySeal func(ctx context.Context, tenant string) error
	// InUse returns the role (e.g. "ca/root", "tsa", "ocsp/t1") of the
	// platform's PKI or of tenant's CA whose current certificate has
	// serial, or "" if none: such a certificate is never revoked here.
	// platform tells a platform role from one of tenant's.
	InUse func(tenant string, serial *big.Int) (role string, platform bool)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// A Service lists, rotates and revokes a tenant's keys and certificates.
type Service struct {
	cfg Config
}

// New returns a Service, or an error naming a missing dependency.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("keyadmin: no key manager")
	case cfg.Certificates == nil:
		return nil, errors.New("keyadmin: no certificate records")
	case cfg.Revoker == nil:
		return nil, errors.New("keyadmin: no certificate authority")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Statuses of key versions and certificates.
const (
	StatusActive  = "active"
	StatusRetired = "retired"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// maxCertificates bounds the certificates shown per key version (the
// newest).
const maxCertificates = 20

// A KeyView is one version of a tenant's key.
type KeyView struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	Purpose   string    `json:"purpose"`
	Label     string    `json:"label,omitempty"`
	Algorithm string    `json:"algorithm"`
	Backend   string    `json:"backend"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// Rotatable reports whether POST /v1/keys/{id}/rotate applies.
	Rotatable bool `json:"rotatable"`
	// RevokedAt and RevocationReason describe a revoked version.
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
	// Certificate is the version's newest certificate (none for keys
	// that are not certified, such as the KEK).
	Certificate *CertificateView `json:"certificate,omitempty"`
	// Certificates are the version's certificates, newest first (at
	// most 20).
	Certificates []CertificateView `json:"certificates,omitempty"`
}

// A CertificateView is one certificate of the tenant's CA records.
type CertificateView struct {
	// Serial is the serial number in lower-case hex, as audit events
	// name it.
	Serial    string    `json:"serial"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Kind      string    `json:"kind"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Status    string    `json:"status"`
	// RevokedAt and RevocationReason describe a revoked certificate.
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
}

// purposeOrder sorts the listing.
var purposeOrder = []keys.Purpose{keys.PurposeIssuingCA, keys.PurposePlatformSeal, keys.PurposeDataKeyWrapping}

// List returns tenant's keys, one entry per version, newest version
// first within each key.
func (s *Service) List(ctx context.Context, tenant string) ([]KeyView, error) {
	if tenant == "" {
		return nil, errPlatform
	}
	ks, err := s.cfg.Keys.List(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("keyadmin: keys of %s: %w", tenant, err)
	}
	rank := func(p keys.Purpose) int {
		if i := slices.Index(purposeOrder, p); i >= 0 {
			return i
		}
		return len(purposeOrder)
	}
	slices.SortStableFunc(ks, func(a, b *keys.Key) int {
		if d := rank(a.Purpose) - rank(b.Purpose); d != 0 {
			return d
		}
		return a.Created.Compare(b.Created)
	})
	out := []KeyView{}
	for _, k := range ks {
		if k.Tenant != tenant {
			return nil, fmt.Errorf("keyadmin: the key manager listed key %s, which is not %s's", k.ID, tenant)
		}
		vs, err := s.views(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

// views returns the entries of k's versions, newest first.
func (s *Service) views(ctx context.Context, k *keys.Key) ([]KeyView, error) {
	now := s.cfg.Now()
	var out []KeyView
	for i := len(k.Versions) - 1; i >= 0; i-- {
		v := k.Versions[i]
		kv := KeyView{ID: k.ID, Version: v.Number, Purpose: string(k.Purpose), Label: k.Label, Algorithm: string(k.Algorithm),
			Backend: k.Backend, CreatedAt: v.Created.UTC(), Rotatable: rotatable(k) && v.State == keys.StateActive}
		if k.Purpose != keys.PurposeDataKeyWrapping {
			recs, err := s.cfg.Certificates.ByKey(ctx, k.ID, strconv.Itoa(v.Number))
			if err != nil {
				return nil, fmt.Errorf("keyadmin: certificates of %s/v%d: %w", k.ID, v.Number, err)
			}
			kv.Certificates = certificateViews(recs, now)
			if len(kv.Certificates) > 0 {
				kv.Certificate = &kv.Certificates[0]
			}
		}
		switch {
		case v.Revocation != nil:
			kv.Status = StatusRevoked
			t := v.Revocation.Time.UTC()
			kv.RevokedAt, kv.RevocationReason = &t, v.Revocation.Reason.String()
		case v.State == keys.StateActive && kv.Certificate != nil && now.After(kv.Certificate.NotAfter):
			kv.Status = StatusExpired
		case v.State == keys.StateActive:
			kv.Status = StatusActive
		default: // verify-only, or destroyed without a revocation
			kv.Status = StatusRetired
		}
		out = append(out, kv)
	}
	return out, nil
}

// rotatable reports whether k is rotated here: the seal key and the KEK.
func rotatable(k *keys.Key) bool {
	return k.Purpose == keys.PurposePlatformSeal || k.Purpose == keys.PurposeDataKeyWrapping
}

// certificateViews shows recs (in issuance order) newest first, at most
// maxCertificates of them.
func certificateViews(recs []ca.Record, now time.Time) []CertificateView {
	var out []CertificateView
	newest := true
	for i := len(recs) - 1; i >= 0 && len(out) < maxCertificates; i-- {
		c := certificateView(recs[i], now)
		if c.Status == StatusActive {
			if !newest {
				c.Status = StatusRetired
			}
			newest = false
		}
		out = append(out, c)
	}
	return out
}

// certificateView shows r; a valid certificate is active.
func certificateView(r ca.Record, now time.Time) CertificateView {
	c := CertificateView{Serial: r.Serial.Text(16), Subject: r.Subject, Issuer: r.Issuer, Kind: string(r.Kind),
		NotBefore: r.NotBefore.UTC(), NotAfter: r.NotAfter.UTC(), Status: StatusActive}
	switch {
	case r.Status == ca.StatusRevoked:
		c.Status = StatusRevoked
		t := r.RevokedAt.UTC()
		c.RevokedAt, c.RevocationReason = &t, r.Reason.String()
	case now.After(r.NotAfter):
		c.Status = StatusExpired
	}
	return c
}

var errPlatform = &api.Error{Kind: api.KindForbidden, Detail: "the platform administrator does not act inside tenants"}

// ErrKeyNotFound: no key of the tenant has that id.
var ErrKeyNotFound = &api.Error{Kind: api.KindNotFound, Type: "key-not-found", Detail: "the tenant has no such key"}

// ErrCertificateNotFound: no certificate of the tenant has that serial.
var ErrCertificateNotFound = &api.Error{Kind: api.KindNotFound, Type: "certificate-not-found", Detail: "the tenant has no certificate with that serial"}

// conflict is a 409 of the given problem type.
func conflict(typ, format string, args ...any) error {
	e := api.Errorf(api.KindConflict, format, args...)
	e.Type = typ
	return e
}

// tenantKey returns tenant's key id, or ErrKeyNotFound.
func (s *Service) tenantKey(ctx context.Context, tenant, id string) (*keys.Key, error) {
	k, err := s.cfg.Keys.Get(ctx, id)
	if errors.Is(err, keys.ErrNotFound) || err == nil && k.Tenant != tenant {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keyadmin: key %s: %w", id, err)
	}
	return k, nil
}

// Rotate gives tenant's key id a new active version and returns the
// key's entries. Only the seal key and the KEK are rotated here.
func (s *Service) Rotate(ctx context.Context, tenant, id string) ([]KeyView, error) {
	if tenant == "" {
		return nil, errPlatform
	}
	k, err := s.tenantKey(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !rotatable(k) {
		return nil, conflict("key-not-rotatable", "a %s key is renewed with its certificate by the PKI, not rotated by hand", k.Purpose)
	}
	if k.Active() == nil {
		return nil, conflict("key-not-active", "key %s has no active version: it is out of use", id)
	}
	switch k.Purpose {
	case keys.PurposeDataKeyWrapping:
		if s.cfg.RotateKEK == nil {
			return nil, conflict("key-not-rotatable", "this server keeps no keys at rest")
		}
		ref, err := s.cfg.RotateKEK(ctx, tenant)
		if err != nil {
			return nil, fmt.Errorf("keyadmin: rotate the data key of %s: %w", tenant, err)
		}
		if ref.KeyID != id {
			return nil, fmt.Errorf("keyadmin: rotating %s's data key rotated %s, not %s", tenant, ref.KeyID, id)
		}
	default:
		if _, err := s.cfg.Keys.Rotate(ctx, id); err != nil {
			return nil, fmt.Errorf("keyadmin: rotate %s: %w", id, err)
		}
		if s.cfg.CertifySeal != nil {
			if err := s.cfg.CertifySeal(ctx, tenant); err != nil {
				return nil, fmt.Errorf("keyadmin: the certificate of %s's new version: %w", id, err)
			}
		}
	}
	if k, err = s.tenantKey(ctx, tenant, id); err != nil {
		return nil, err
	}
	return s.views(ctx, k)
}

// ParseSerial parses a certificate serial number in hex (either case, at
// most 40 digits: RFC 5280 allows 20 octets).
func ParseSerial(s string) (*big.Int, error) {
	if s == "" || len(s) > 40 {
		return nil, api.Errorf(api.KindInvalid, "the serial must be 1 to 40 hex digits")
	}
	n, ok := new(big.Int).SetString(strings.ToLower(s), 16)
	if !ok || n.Sign() <= 0 {
		return nil, api.Errorf(api.KindInvalid, "the serial must be a positive number in hex")
	}
	return n, nil
}

// Revoke revokes tenant's certificate serial for reason and returns it.
func (s *Service) Revoke(ctx context.Context, tenant string, serial *big.Int, reason ca.Reason) (*CertificateView, error) {
	if tenant == "" {
		return nil, errPlatform
	}
	if !reason.Valid() {
		return nil, api.Errorf(api.KindInvalid, "unknown revocation reason")
	}
	r, err := s.cfg.Certificates.Get(ctx, serial)
	if errors.Is(err, ca.ErrNotFound) {
		return nil, ErrCertificateNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keyadmin: certificate %x: %w", serial, err)
	}
	// The root and the platform's own certificates are public (every
	// chain and time-stamp carries them): refusing them names them.
	if r.Kind == ca.KindRoot {
		return nil, conflict("certificate-in-use", "the root certificate is never revoked: it is the trust anchor of every signature")
	}
	role, platform := s.inUse(tenant, serial)
	if role != "" && platform {
		return nil, conflict("certificate-in-use", "the certificate is the current certificate of %s, which the service needs", role)
	}
	owned, err := s.owned(ctx, tenant, r)
	if err != nil {
		return nil, err
	}
	if !owned {
		return nil, ErrCertificateNotFound
	}
	if role != "" {
		return nil, conflict("certificate-in-use", "the certificate is the current certificate of %s, which the service needs; it is renewed by the PKI", role)
	}
	if r.Status == ca.StatusRevoked {
		return nil, conflict("certificate-revoked", "the certificate is already revoked")
	}
	if r.Key.ID != "" {
		k, err := s.cfg.Keys.Get(ctx, r.Key.ID)
		if err != nil && !errors.Is(err, keys.ErrNotFound) {
			return nil, fmt.Errorf("keyadmin: key %s: %w", r.Key.ID, err)
		}
		if err == nil && k.Purpose == keys.PurposePlatformSeal {
			if a := k.Active(); a != nil && strconv.Itoa(a.Number) == r.Key.Version {
				return nil, conflict("certificate-in-use", "the certificate is of the seal key's active version, which seals every completed document: rotate the seal key first")
			}
		}
	}
	r, err = s.cfg.Revoker.Revoke(ctx, serial, reason, time.Time{})
	if errors.Is(err, ca.ErrAlreadyRevoked) {
		return nil, conflict("certificate-revoked", "the certificate is already revoked")
	}
	if err != nil {
		return nil, fmt.Errorf("keyadmin: revoke %x: %w", serial, err)
	}
	c := certificateView(r, s.cfg.Now())
	return &c, nil
}

func (s *Service) inUse(tenant string, serial *big.Int) (string, bool) {
	if s.cfg.InUse == nil {
		return "", false
	}
	return s.cfg.InUse(tenant, serial)
}

// owned reports whether r is tenant's: issued by its CA (a tenant's
// issuing CA is named after it), or certifying one of its keys.
func (s *Service) owned(ctx context.Context, tenant string, r ca.Record) (bool, error) {
	if r.Issuer == tenant {
		return true, nil
	}
	if r.Key.ID == "" {
		return false, nil
	}
	k, err := s.cfg.Keys.Get(ctx, r.Key.ID)
	if errors.Is(err, keys.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keyadmin: key %s: %w", r.Key.ID, err)
	}
	return k.Tenant == tenant, nil
}
