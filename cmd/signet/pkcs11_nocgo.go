//go:build !cgo

package main

import "github.com/signet-pki/signet/keyref"

// pkcs11Opener returns nil: PKCS#11 modules need cgo, and keyref then
// reports pkcs11: references as unavailable in this build.
func pkcs11Opener(env *environment) func(*keyref.PKCS11URI, keyref.Options) (*keyref.Key, error) {
	return nil
}
