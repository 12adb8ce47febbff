//go:build cgo

package main

import (
	"context"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys/pkcs11"
)

// pkcs11Opener returns the keyref.Options.PKCS11 function of signet sign:
// it opens the token named by the URI, finds the private key by its label
// (object=) or id, and reads the certificate from --cert. The key's Close
// closes the token's sessions.
func pkcs11Opener(env *environment) func(*keyref.PKCS11URI, keyref.Options) (*keyref.Key, error) {
	return func(u *keyref.PKCS11URI, opts keyref.Options) (*keyref.Key, error) {
		r, err := resolvePKCS11(u, env.getenv)
		if err != nil {
			return nil, err
		}
		chain, err := pkcs11Chain(opts)
		if err != nil {
			return nil, err
		}
		ctx := context.Background()
		b, err := pkcs11.Open(ctx, pkcs11.Config{Module: r.module, TokenLabel: r.token, PIN: r.pin, MaxSessions: 1})
		if err != nil {
			return nil, err
		}
		handle, err := b.Find(ctx, r.object, r.id)
		if err != nil {
			b.Close()
			return nil, err
		}
		s, err := b.Signer(ctx, handle)
		if err != nil {
			b.Close()
			return nil, err
		}
		return &keyref.Key{Signer: s, Chain: chain, Close: b.Close}, nil
	}
}
