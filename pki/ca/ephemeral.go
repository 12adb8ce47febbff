package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/signet-pki/signet/keys"
)

// ErrKeyDestroyed is returned by an ephemeral signer used after its done
// function ran.
var ErrKeyDestroyed = errors.New("ca: ephemeral key destroyed")

// ErrNoKeyGenerator means [Config.Keys] is nil, so ephemeral issuance is
// off.
var ErrNoKeyGenerator = errors.New("ca: no key generator configured")

// A KeyGenerator makes single-use signing keys. The key manager implements
// it; [BackendKeys] adapts any [keys.Backend].
type KeyGenerator interface {
	// GenerateKey creates a signing key inside the key backend. The key
	// MUST NOT leave the backend; Destroy MUST delete it irreversibly.
	GenerateKey(ctx context.Context, label string) (*GeneratedKey, error)
}

// A GeneratedKey is a key made by a [KeyGenerator].
type GeneratedKey struct {
	Signer  crypto.Signer
	Ref     KeyRef
	Destroy func(ctx context.Context) error
}

// BackendKeys is a [KeyGenerator] that generates keys of Algorithm directly
// in Backend.
type BackendKeys struct {
	Backend   keys.Backend
	Algorithm keys.Algorithm
}

var _ KeyGenerator = BackendKeys{}

// GenerateKey implements [KeyGenerator]. The key's ID is the backend name
// and handle, its version "1". When the backend can make session keys
// ([keys.SessionGenerator]) the key is one: it never reaches storage.
func (b BackendKeys) GenerateKey(ctx context.Context, label string) (*GeneratedKey, error) {
	generate := b.Backend.Generate
	if sg, ok := b.Backend.(keys.SessionGenerator); ok {
		generate = sg.GenerateSession
	}
	h, _, err := generate(ctx, b.Algorithm, label)
	if err != nil {
		return nil, fmt.Errorf("ca: generate key: %w", err)
	}
	s, err := b.Backend.Signer(ctx, h)
	if err != nil {
		if derr := b.Backend.Destroy(ctx, h); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("ca: signer for generated key: %w", err)
	}
	return &GeneratedKey{
		Signer:  s,
		Ref:     KeyRef{ID: b.Backend.Name() + ":" + h, Version: "1"},
		Destroy: func(ctx context.Context) error { return b.Backend.Destroy(ctx, h) },
	}, nil
}

// IssueEphemeral generates a key with [Config.Keys] for one signing event,
// has the issuing CA of id.Tenant certify it for [Config.EphemeralValidity]
// (ten minutes by default) and returns its signer and certificate and a
// done function that destroys the key. The caller MUST call done once the
// signature is made; afterwards the signer fails with [ErrKeyDestroyed].
// done is idempotent. If issuance fails the key is destroyed before
// IssueEphemeral returns.
//
// The certificate names id (subject CN = Name, O = Tenant, rfc822Name =
// Email), has keyUsage digitalSignature|nonRepudiation, extended key usage
// id-kp-emailProtection, AIA, CRL distribution point and the Signet
// authentication-evidence extension holding ev.
func (a *Authority) IssueEphemeral(ctx context.Context, id Identity, ev AuthEvidence) (signer crypto.Signer, cert *x509.Certificate, done func() error, err error) {
	if a.cfg.Keys == nil {
		return nil, nil, nil, ErrNoKeyGenerator
	}
	if err := id.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := ev.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	// The label names the tenant and a random tag, not the signer: an
	// HSM keeps labels of token objects, and they must be unique.
	var tag [8]byte
	if _, err := io.ReadFull(a.cfg.Rand, tag[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("ca: ephemeral key label: %w", err)
	}
	k, err := a.cfg.Keys.GenerateKey(ctx, fmt.Sprintf("ephemeral signer %s %x", id.Tenant, tag))
	if err != nil {
		return nil, nil, nil, err
	}
	es := &ephemeralSigner{key: k}
	cert, err = a.issueSigner(ctx, id, ev, k.Signer.Public(), k.Ref, a.cfg.EphemeralValidity)
	if err != nil {
		if derr := es.destroy(); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, nil, nil, err
	}
	return es, cert, es.destroy, nil
}

// ephemeralSigner refuses to sign once its key is destroyed.
type ephemeralSigner struct {
	key  *GeneratedKey
	mu   sync.RWMutex
	gone bool
	once sync.Once
	err  error
}

func (s *ephemeralSigner) Public() crypto.PublicKey { return s.key.Signer.Public() }

func (s *ephemeralSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.gone {
		return nil, ErrKeyDestroyed
	}
	return s.key.Signer.Sign(r, digest, opts)
}

func (s *ephemeralSigner) destroy() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.gone = true
		s.mu.Unlock()
		if err := s.key.Destroy(context.Background()); err != nil {
			s.err = fmt.Errorf("ca: destroy ephemeral key %s: %w", s.key.Ref.ID, err)
		}
	})
	return s.err
}
