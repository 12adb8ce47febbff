package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys"
)

// openSignetRef resolves a "signet:KEY-ID" reference of --key through the
// key manager m; its signature, but for m, is that of
// [keyref.Options.Store]. The key must be a document-signing or
// platform-seal key (the manager records a refusal otherwise); its
// certificate comes from opts.CertFile (PEM or DER, further PEM
// certificates extend the chain) and issuers from opts.ChainFile. The
// signer is the manager's guarded one ([keys.Manager.Signer]): every
// signature is checked against the key's state and recorded.
func openSignetRef(m *keys.Manager, ref string, opts keyref.Options) (*keyref.Key, error) {
	id, ok := strings.CutPrefix(ref, "signet:")
	if !ok || id == "" {
		return nil, fmt.Errorf("keys: %q is not a signet:KEY-ID reference", ref)
	}
	ctx := context.Background()
	k, err := m.Get(ctx, id)
	if err != nil {
		// The manager refuses an unknown key and records the refusal.
		if _, _, serr := m.Signer(ctx, id, keys.PurposeDocumentSigning); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	purpose := k.Purpose
	if purpose != keys.PurposeDocumentSigning && purpose != keys.PurposePlatformSeal {
		// The manager refuses a key of another purpose (a signer of
		// document-signing purpose) and records the refusal.
		_, _, _ = m.Signer(ctx, id, keys.PurposeDocumentSigning)
		return nil, fmt.Errorf("%w: %s is a %s key, not a document-signing or platform-seal key", keys.ErrPurpose, id, k.Purpose)
	}
	if opts.CertFile == "" {
		return nil, fmt.Errorf("keys: %s: a certificate is needed (--cert)", ref)
	}
	chain, err := keyref.ReadCertificates(opts.CertFile)
	if err != nil {
		return nil, err
	}
	if opts.ChainFile != "" {
		more, err := keyref.ReadCertificates(opts.ChainFile)
		if err != nil {
			return nil, err
		}
		chain = append(chain, more...)
	}
	s, _, err := m.Signer(ctx, id, purpose)
	if err != nil {
		return nil, err
	}
	return &keyref.Key{Signer: s, Chain: chain, Close: func() error { return nil }}, nil
}
