package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// An Identity is a verified signer: who the certificate names.
type Identity struct {
	// Name is the signer's name, written as the subject CN.
	Name string
	// Email is the verified address, written as an rfc822Name
	// subjectAltName (RFC 5280 §4.2.1.6).
	Email string
	// Tenant is the tenant the signer signs for: it selects the issuing
	// CA and is written as the subject's O.
	Tenant string
}

// Validate checks that every field is set and that Email is a bare
// address.
func (id Identity) Validate() error {
	if strings.TrimSpace(id.Name) == "" || len(id.Name) > 64 {
		return fmt.Errorf("%w: signer name must have 1 to 64 characters", ErrInvalidRequest)
	}
	a, err := mail.ParseAddress(id.Email)
	if err != nil || a.Address != id.Email || a.Name != "" {
		return fmt.Errorf("%w: %q is not a bare e-mail address", ErrInvalidRequest, id.Email)
	}
	if !ValidName(id.Tenant) || id.Tenant == RootName {
		return fmt.Errorf("%w: tenant %q", ErrInvalidRequest, id.Tenant)
	}
	return nil
}

// IssueSigner certifies a long-lived signer key pub (named key in the key
// manager) for id, valid for [Config.SignerValidity], under the issuing CA
// of id.Tenant. See [Authority.IssueEphemeral] for the profile.
func (a *Authority) IssueSigner(ctx context.Context, id Identity, ev AuthEvidence, pub crypto.PublicKey, key KeyRef) (*x509.Certificate, error) {
	return a.issueSigner(ctx, id, ev, pub, key, a.cfg.SignerValidity)
}

func (a *Authority) issueSigner(ctx context.Context, id Identity, ev AuthEvidence, pub crypto.PublicKey, key KeyRef, validity time.Duration) (*x509.Certificate, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	evDER, err := ev.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	iss, err := a.issuer(ctx, id.Tenant)
	if err != nil {
		return nil, err
	}
	tmpl := a.leafTemplate(iss, pkix.Name{CommonName: id.Name, Organization: []string{id.Tenant}}, validity)
	tmpl.EmailAddresses = []string{id.Email}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	tmpl.ExtraExtensions = []pkix.Extension{{Id: OIDAuthEvidence, Value: evDER}}
	return a.issue(ctx, tmpl, iss, nil, pub, KindSigner, id.Tenant, key)
}
