package keys

import (
	"context"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/keyref"
)

// OpenRef resolves a "signet:KEY-ID" reference for [keyref.Open]; its
// signature is that of [keyref.Options.Store]. The key must be a
// document-signing or platform-seal key; its certificate comes from
// opts.CertFile (PEM or DER, further PEM certificates extend the chain)
// and issuers from opts.ChainFile. The returned signer is guarded as
// described at [Manager.Signer].
func (m *Manager) OpenRef(ref string, opts keyref.Options) (*keyref.Key, error) {
	id, ok := strings.CutPrefix(ref, "signet:")
	if !ok || id == "" {
		return nil, fmt.Errorf("keys: %q is not a signet:KEY-ID reference", ref)
	}
	ctx := context.Background()
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, m.deny(ctx, opSign, &Key{ID: id}, 0, err)
	}
	purpose := k.Purpose
	if purpose != PurposeDocumentSigning && purpose != PurposePlatformSeal {
		return nil, m.deny(ctx, opSign, k, 0, fmt.Errorf("%w: %s is a %s key, not a document-signing or platform-seal key", ErrPurpose, id, k.Purpose))
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
