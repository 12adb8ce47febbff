package soft

import "io"

// secretAAD binds a sealed secret to its name, and keeps it apart from
// sealed keys (whose AAD is [sealAAD]).
func secretAAD(name string) string { return "secret\x00" + name }

// SealSecret seals a service secret named name (e.g. the audit log's
// secret when the service keeps it in a database) under the master key,
// as key files are sealed: AES-256-GCM, the name bound as associated data,
// so that a sealed value copied under another name does not open.
func SealSecret(master []byte, name string, secret []byte, rand io.Reader) ([]byte, error) {
	return seal(master, secretAAD(name), secret, rand)
}

// UnsealSecret opens a secret sealed by [SealSecret] under the same
// master key and name. The caller must clear the result when done.
func UnsealSecret(master []byte, name string, sealed []byte) ([]byte, error) {
	return unseal(master, secretAAD(name), sealed)
}
