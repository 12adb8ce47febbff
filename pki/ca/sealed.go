package ca

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/signet-pki/signet/keys/dataseal"
)

// NamesPerson reports whether certificates of kind k name a person: a
// signer's name in the subject and e-mail address in the certificate.
// Their records are sealed at rest ([SealedStore]) and their subjects are
// sensitive in audit events. The CA's own certificates (root, issuing),
// and those of its services (OCSP responders, time-stamping) name no one.
func (k Kind) NamesPerson() bool { return k == KindSigner }

// Fields of a [Record] that [SealedStore] seals, as named to a
// [RecordSealer].
const (
	FieldSubject = "subject"
	FieldDER     = "der"
)

// SealedPrefix starts the subject of a sealed record: "sealed:" followed
// by the sealed subject in base64url without padding. No RFC 4514 string
// starts so (an attribute type holds no ':'), which tells a sealed record
// from one stored in clear.
const SealedPrefix = dataseal.TextPrefix

// ErrSealed wraps the errors of sealing and opening records.
var ErrSealed = errors.New("ca: sealed certificate record")

// A RecordSealer seals and opens fields of certificate records. A value
// sealed for one issuer, serial and field MUST fail to open for any
// other. [NewRecordSealer] is the one over [dataseal].
type RecordSealer interface {
	// Seal encrypts plaintext, field of the certificate serial of issuer.
	Seal(ctx context.Context, issuer string, serial *big.Int, field string, plaintext []byte) ([]byte, error)
	// Open decrypts what Seal returned for the same issuer, serial and
	// field.
	Open(ctx context.Context, issuer string, serial *big.Int, field string, sealed []byte) ([]byte, error)
}

// NewRecordSealer returns a [RecordSealer] that seals each value with
// [dataseal.Seal] under the KEK kekFor returns for the issuer, bound to
// the associated data {Tenant: issuer, Object: "certificate:" + serial
// in hex, Field: field}. A tenant's issuing CA is named after the tenant,
// so the issuer stands for the tenant that owns the record.
func NewRecordSealer(kekFor func(ctx context.Context, issuer string) (dataseal.KEK, error)) RecordSealer {
	return &recordSealer{kekFor: kekFor}
}

type recordSealer struct {
	kekFor func(ctx context.Context, issuer string) (dataseal.KEK, error)
}

// recordAD is the associated data of field of the certificate serial of
// issuer.
func recordAD(issuer string, serial *big.Int, field string) (dataseal.AD, error) {
	if serial == nil || serial.Sign() <= 0 {
		return dataseal.AD{}, fmt.Errorf("%w: serial must be positive", ErrSealed)
	}
	ad := dataseal.AD{Tenant: issuer, Object: "certificate:" + serialKey(serial), Field: field}
	if err := ad.Validate(); err != nil {
		return dataseal.AD{}, fmt.Errorf("%w: %w", ErrSealed, err)
	}
	return ad, nil
}

func (s *recordSealer) kek(ctx context.Context, issuer string) (dataseal.KEK, error) {
	kek, err := s.kekFor(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: key of issuer %q: %w", ErrSealed, issuer, err)
	}
	if kek == nil {
		return nil, fmt.Errorf("%w: no key for issuer %q", ErrSealed, issuer)
	}
	return kek, nil
}

// Seal implements [RecordSealer].
func (s *recordSealer) Seal(ctx context.Context, issuer string, serial *big.Int, field string, plaintext []byte) ([]byte, error) {
	ad, err := recordAD(issuer, serial, field)
	if err != nil {
		return nil, err
	}
	kek, err := s.kek(ctx, issuer)
	if err != nil {
		return nil, err
	}
	out, err := dataseal.Seal(ctx, kek, ad, plaintext, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: seal %s of %s: %w", ErrSealed, field, serialKey(serial), err)
	}
	return out, nil
}

// Open implements [RecordSealer].
func (s *recordSealer) Open(ctx context.Context, issuer string, serial *big.Int, field string, sealed []byte) ([]byte, error) {
	ad, err := recordAD(issuer, serial, field)
	if err != nil {
		return nil, err
	}
	kek, err := s.kek(ctx, issuer)
	if err != nil {
		return nil, err
	}
	out, err := dataseal.Open(ctx, kek, ad, sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s of %s: %w", ErrSealed, field, serialKey(serial), err)
	}
	return out, nil
}

// SealedStore returns a [Store] that keeps the subject and DER of the
// records of certificates naming a person ([Kind.NamesPerson]) sealed by
// s in inner, and hands out every record opened. The sealed subject is
// [SealedPrefix] and the sealed value in base64url; the DER column holds
// the sealed value itself. Records of other kinds, and records stored in
// clear before sealing began, pass through unchanged; a sealed record
// that fails to open is an error wrapping [ErrSealed] (fail closed).
// Both inner and s are required.
//
// Serials, issuers, kinds, key references, validity, status and
// revocation data stay in clear: the OCSP responder and the CRL
// publisher read only those, so they may be given inner itself and need
// no key.
func SealedStore(inner Store, s RecordSealer) Store {
	return &sealedStore{inner: inner, sealer: s}
}

type sealedStore struct {
	inner  Store
	sealer RecordSealer
}

// IsSealed reports whether r's subject and DER are sealed (as
// [SealedStore] writes them) rather than in clear.
func IsSealed(r Record) bool { return dataseal.IsText(r.Subject) }

func (s *sealedStore) seal(ctx context.Context, r Record) (Record, error) {
	if r.Serial == nil {
		return Record{}, fmt.Errorf("%w: nil serial", ErrSealed)
	}
	if IsSealed(r) {
		return Record{}, fmt.Errorf("%w: %s: the subject is already sealed", ErrSealed, serialKey(r.Serial))
	}
	subj, err := s.sealer.Seal(ctx, r.Issuer, r.Serial, FieldSubject, []byte(r.Subject))
	if err != nil {
		return Record{}, err
	}
	der, err := s.sealer.Seal(ctx, r.Issuer, r.Serial, FieldDER, r.DER)
	if err != nil {
		return Record{}, err
	}
	r.Subject, r.DER = dataseal.EncodeText(subj), der
	return r, nil
}

func (s *sealedStore) open(ctx context.Context, r Record) (Record, error) {
	if !IsSealed(r) {
		return r, nil
	}
	enc, err := dataseal.DecodeText(r.Subject)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: malformed sealed subject", ErrSealed, serialKey(r.Serial))
	}
	subj, err := s.sealer.Open(ctx, r.Issuer, r.Serial, FieldSubject, enc)
	if err != nil {
		return Record{}, err
	}
	der, err := s.sealer.Open(ctx, r.Issuer, r.Serial, FieldDER, r.DER)
	if err != nil {
		return Record{}, err
	}
	r.Subject, r.DER = string(subj), der
	return r, nil
}

func (s *sealedStore) openAll(ctx context.Context, rs []Record, err error) ([]Record, error) {
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if rs[i], err = s.open(ctx, rs[i]); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// Insert implements [Store]: the record is sealed first if it names a
// person.
func (s *sealedStore) Insert(ctx context.Context, r Record) error {
	if r.Kind.NamesPerson() {
		var err error
		if r, err = s.seal(ctx, r); err != nil {
			return err
		}
	}
	return s.inner.Insert(ctx, r)
}

// Get implements [Store].
func (s *sealedStore) Get(ctx context.Context, serial *big.Int) (Record, error) {
	r, err := s.inner.Get(ctx, serial)
	if err != nil {
		return Record{}, err
	}
	return s.open(ctx, r)
}

// Revoke implements [Store]. With [ErrAlreadyRevoked] the record is
// returned opened too.
func (s *sealedStore) Revoke(ctx context.Context, serial *big.Int, reason Reason, at, inv time.Time) (Record, error) {
	r, err := s.inner.Revoke(ctx, serial, reason, at, inv)
	if err != nil && !errors.Is(err, ErrAlreadyRevoked) {
		return r, err
	}
	opened, oerr := s.open(ctx, r)
	if oerr != nil {
		// The revocation (if any) is stored; only the record is not
		// readable.
		return Record{}, errors.Join(err, oerr)
	}
	return opened, err
}

// ByKey implements [Store].
func (s *sealedStore) ByKey(ctx context.Context, id, version string) ([]Record, error) {
	rs, err := s.inner.ByKey(ctx, id, version)
	return s.openAll(ctx, rs, err)
}

// Revoked implements [Store]. The CRL publisher needs none of what is
// sealed and may read inner instead.
func (s *sealedStore) Revoked(ctx context.Context, issuer string) ([]Record, error) {
	rs, err := s.inner.Revoked(ctx, issuer)
	return s.openAll(ctx, rs, err)
}

// NextCRLNumber implements [Store].
func (s *sealedStore) NextCRLNumber(ctx context.Context, issuer string) (*big.Int, error) {
	return s.inner.NextCRLNumber(ctx, issuer)
}
