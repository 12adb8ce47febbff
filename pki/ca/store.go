package ca

import (
	"context"
	"errors"
	"math/big"
	"time"
)

// Errors that stores return and callers branch on.
var (
	// ErrNotFound means the store holds no certificate with that serial.
	ErrNotFound = errors.New("ca: certificate not found")
	// ErrDuplicateSerial means a certificate with that serial is already
	// stored.
	ErrDuplicateSerial = errors.New("ca: duplicate certificate serial")
	// ErrAlreadyRevoked means the certificate is already revoked.
	ErrAlreadyRevoked = errors.New("ca: certificate already revoked")
)

// A Kind says what a certificate is for.
type Kind string

// Certificate kinds.
const (
	KindRoot    Kind = "root"
	KindIssuing Kind = "issuing"
	KindSigner  Kind = "signer"
	KindTSA     Kind = "tsa"
	KindOCSP    Kind = "ocsp"
)

// A Status is a certificate's revocation status.
type Status string

// Statuses. A certificate past its validity keeps the status it had.
const (
	StatusGood    Status = "good"
	StatusRevoked Status = "revoked"
)

// A KeyRef names the key a certificate certifies in the key manager.
type KeyRef struct {
	// ID is the key's identifier; Version its version. Both may be empty
	// for keys the key manager does not hold.
	ID, Version string
}

// A Record is what the CA keeps about a certificate it issued.
type Record struct {
	// Serial is the certificate's serial number (RFC 5280 §4.1.2.2),
	// unique across all of the CA's issuers.
	Serial *big.Int
	// Issuer is the name of the issuing CA ("root" for the root's own
	// certificate and for issuing CA certificates).
	Issuer string
	// Kind says what the certificate is for.
	Kind Kind
	// Key names the certified key in the key manager.
	Key KeyRef
	// Subject is the subject distinguished name (RFC 4514 string).
	Subject string
	// NotBefore and NotAfter bound the validity period.
	NotBefore, NotAfter time.Time
	// Status is good or revoked.
	Status Status
	// Reason, RevokedAt and InvalidityDate describe a revocation
	// (RFC 5280 §5.3.1, §5.3.2); InvalidityDate is zero when unknown.
	Reason         Reason
	RevokedAt      time.Time
	InvalidityDate time.Time
	// DER is the certificate.
	DER []byte
}

// A Store keeps certificate records. Implementations: [MemStore],
// pki/ca/sqlite and pki/ca/postgres; pki/ca/storetest is their conformance
// suite. A Store MUST be safe for concurrent use, and a method that
// returns nil MUST have made its change durable.
type Store interface {
	// Insert stores a new record. It returns [ErrDuplicateSerial] if the
	// serial is taken.
	Insert(ctx context.Context, r Record) error
	// Get returns the record for serial or [ErrNotFound].
	Get(ctx context.Context, serial *big.Int) (Record, error)
	// Revoke marks the record revoked with reason, revocation time at and
	// invalidity date inv (zero if unknown) and returns the updated record.
	// It returns [ErrNotFound] or [ErrAlreadyRevoked] and then changes
	// nothing.
	Revoke(ctx context.Context, serial *big.Int, reason Reason, at, inv time.Time) (Record, error)
	// ByKey returns the records certifying version of key id, in issuance
	// order; an empty version matches every version.
	ByKey(ctx context.Context, id, version string) ([]Record, error)
	// Revoked returns the revoked records of issuer, in revocation order.
	Revoked(ctx context.Context, issuer string) ([]Record, error)
	// NextCRLNumber returns issuer's next CRL number (RFC 5280 §5.2.3):
	// 1 the first time, then strictly increasing, never reused.
	NextCRLNumber(ctx context.Context, issuer string) (*big.Int, error)
}
