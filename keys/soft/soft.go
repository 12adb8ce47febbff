// Package soft is Signet's embedded key backend: keys generated in the
// process and kept sealed, on disk or in a database.
//
// # Sealed store
//
// Each key version is sealed: the key material (PKCS #8 for asymmetric
// keys, raw bytes for AES and HMAC keys) encrypted with AES-256-GCM under
// the master key, with the handle as additional data so that sealed keys
// cannot be swapped between handles. A [Vault] keeps the sealed bytes
// under the handle, never replacing any; it sees nothing else. The
// default vault, [DirVault], is a key directory: one file DIR/<handle>.key
// per version (mode 0600, in a 0700 directory), written to a temporary
// file, synced and linked into place so that a crash never leaves a
// partial key and a handle is never reused; destroying a key overwrites
// its file, syncs it and unlinks it. keys/postgres keeps the same bytes in
// a table, for a cluster of nodes.
//
// A check value of the master key (an HMAC that reveals nothing of it,
// under [CheckHandle]: DIR/master.check in a key directory) makes a wrong
// master key fail at start-up with [ErrWrongMasterKey].
//
// # Master key
//
// The master key (32 bytes) comes from a 0600 key file ([LoadKeyFile]) or,
// base64-encoded, from the SIGNET_MASTER_KEY environment variable
// ([ParseMasterKey]); [LoadMasterKey] holds the rules that the server and
// every command apply ([LoadMasterKeyVault] for a vault other than a key
// directory). It never sits in the metadata database next to the
// data it protects.
//
// No method returns private or secret key material, and formatting a
// [Backend] or a signer it returns prints no secrets.
package soft

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/signet-pki/signet/keys"
)

// Name is the backend name recorded in key metadata.
const Name = "soft"

// Config configures a [Backend]. Exactly one of Dir and Vault is set.
type Config struct {
	// Dir holds the sealed key files ([DirVault]); it is created (0700)
	// if missing.
	Dir string
	// Vault keeps the sealed keys elsewhere than in a directory (e.g.
	// keys/postgres's, shared by the nodes of a cluster).
	Vault Vault
	// MasterKey is the 32-byte AES-256 key that seals every key file. The
	// backend keeps its own copy.
	MasterKey []byte
	// Rand is the source of handles, nonces and symmetric keys; nil means
	// crypto/rand. (Asymmetric key generation always uses the standard
	// library's secure source.)
	Rand io.Reader
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	if (c.Dir == "") == (c.Vault == nil) {
		return errors.New("soft: configure either a key directory or a vault")
	}
	if len(c.MasterKey) != MasterKeySize {
		return fmt.Errorf("soft: master key is %d bytes, want %d", len(c.MasterKey), MasterKeySize)
	}
	return nil
}

// Backend is the sealed software [keys.Backend]; it is also a
// [keys.Wrapper] (AES-256-GCM) and a [keys.MACer] (HMAC-SHA256).
type Backend struct {
	vault    Vault
	where    string // the vault's description, for messages
	master   []byte
	rand     io.Reader
	sessions *sessions
}

var (
	_ keys.Backend = (*Backend)(nil)
	_ keys.Wrapper = (*Backend)(nil)
	_ keys.MACer   = (*Backend)(nil)
)

// New returns a Backend over cfg, creating cfg.Dir if needed. It is
// [NewContext] without a deadline; a vault that may wait on a network (a
// database) is better opened with NewContext.
func New(cfg Config) (*Backend, error) { return NewContext(context.Background(), cfg) }

// NewContext returns a Backend over cfg, creating cfg.Dir if needed, once
// the master key has been checked against the vault's check value (stored
// on first use): a vault sealed under another master key is refused with
// [ErrWrongMasterKey]. ctx bounds that check.
func NewContext(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := cfg.Vault
	if v == nil {
		dv, err := NewDirVault(cfg.Dir)
		if err != nil {
			return nil, err
		}
		v = dv
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	where := "vault"
	if s, ok := v.(fmt.Stringer); ok {
		where = s.String()
	}
	b := &Backend{vault: v, where: where, master: append([]byte(nil), cfg.MasterKey...), rand: r, sessions: &sessions{keys: map[string]crypto.Signer{}}}
	if err := b.checkMaster(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// ErrWrongMasterKey means the vault (the key directory) was sealed under
// another master key.
var ErrWrongMasterKey = errors.New("soft: master key does not match the key directory")

// checkLabel is what the check value authenticates: the vault holds
// HMAC-SHA256(master, checkLabel) in hex under [CheckHandle], written when
// it is first used, so that a wrong master key is refused at once instead
// of sealing new keys under a second master key.
const checkLabel = "signet soft master key check v1"

func (b *Backend) checkMaster(ctx context.Context) error {
	m := hmac.New(sha256.New, b.master)
	m.Write([]byte(checkLabel))
	want := []byte(hex.EncodeToString(m.Sum(nil)) + "\n")
	got, err := b.vault.Get(ctx, CheckHandle)
	if errors.Is(err, fs.ErrNotExist) {
		err = b.vault.Put(ctx, CheckHandle, want)
		if errors.Is(err, fs.ErrExist) {
			// Another process stored it first: compare with that one.
			got, err = b.vault.Get(ctx, CheckHandle)
		} else if err == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("soft: master key check: %w", err)
	}
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w (%s)", ErrWrongMasterKey, b.where)
	}
	return nil
}

// Name implements [keys.Backend].
func (b *Backend) Name() string { return Name }

// String describes the backend without its master key. The formatting
// methods have value receivers so that a copy of a Backend prints no
// secret either.
func (b Backend) String() string { return "soft.Backend(" + b.where + ")" }

// GoString describes the backend without its master key.
func (b Backend) GoString() string { return b.String() }

// Format prints b.String() for every verb, so that no formatting of a
// Backend reaches the master key.
func (b Backend) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, b.String()) }

// Generate implements [keys.Backend]. label is not stored: handles are
// random, and metadata lives in the key store.
func (b *Backend) Generate(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	var (
		material []byte
		pub      crypto.PublicKey
	)
	switch alg {
	case keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048, keys.RSA3072, keys.RSA4096, keys.Ed25519:
		priv, err := generateAsymmetric(alg)
		if err != nil {
			return "", nil, err
		}
		if material, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			return "", nil, fmt.Errorf("soft: %w", err)
		}
		pub = priv.Public()
	case keys.AES256, keys.HMACSHA256:
		material = make([]byte, 32)
		if _, err := io.ReadFull(b.rand, material); err != nil {
			return "", nil, fmt.Errorf("soft: %w", err)
		}
	default:
		return "", nil, fmt.Errorf("%w: %q", keys.ErrUnsupportedAlgorithm, alg)
	}
	h, err := b.store(ctx, alg, material)
	if err != nil {
		return "", nil, err
	}
	return h, pub, nil
}

// Import implements [keys.Importer]: key is sealed like a generated key.
// Only Ed25519 keys are accepted, the one case Signet imports (a note key
// file of an earlier version).
func (b *Backend) Import(ctx context.Context, alg keys.Algorithm, label string, key crypto.Signer) (string, crypto.PublicKey, error) {
	if _, ok := key.(ed25519.PrivateKey); !ok || alg != keys.Ed25519 {
		return "", nil, fmt.Errorf("%w: importing %T as %s", keys.ErrUnsupportedAlgorithm, key, alg)
	}
	material, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("soft: %w", err)
	}
	h, err := b.store(ctx, alg, material)
	if err != nil {
		return "", nil, err
	}
	return h, key.Public(), nil
}

// store seals material (cleared afterwards) under a new handle.
func (b *Backend) store(ctx context.Context, alg keys.Algorithm, material []byte) (string, error) {
	defer clear(material)
	h, err := b.newHandle()
	if err != nil {
		return "", err
	}
	plain := append([]byte(string(alg)+"\n"), material...)
	blob, err := seal(b.master, h, plain, b.rand)
	clear(plain)
	if err != nil {
		return "", err
	}
	if err := b.vault.Put(ctx, h, blob); err != nil {
		return "", fmt.Errorf("soft: store sealed key: %w", err)
	}
	return h, nil
}

func generateAsymmetric(alg keys.Algorithm) (crypto.Signer, error) {
	var (
		s   crypto.Signer
		err error
	)
	switch alg {
	case keys.ECDSAP256:
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keys.ECDSAP384:
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case keys.RSA2048:
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	case keys.RSA3072:
		s, err = rsa.GenerateKey(rand.Reader, 3072)
	case keys.RSA4096:
		s, err = rsa.GenerateKey(rand.Reader, 4096)
	case keys.Ed25519:
		_, s, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("soft: generate %s: %w", alg, err)
	}
	return s, nil
}

// handlePrefix starts every handle; 32 hex digits (128 random bits)
// follow.
const handlePrefix = "soft-"

func (b *Backend) newHandle() (string, error) {
	var r [16]byte
	if _, err := io.ReadFull(b.rand, r[:]); err != nil {
		return "", fmt.Errorf("soft: handle: %w", err)
	}
	return handlePrefix + hex.EncodeToString(r[:]), nil
}

// validHandle reports whether h is a handle this backend makes, so that
// no other name (a path, [CheckHandle]) ever reaches the vault.
func validHandle(h string) bool {
	hexPart, ok := strings.CutPrefix(h, handlePrefix)
	if !ok || len(hexPart) != 32 || strings.ToLower(hexPart) != hexPart {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// load unseals handle h and returns its algorithm and material. The
// caller must clear the material when done with it.
func (b *Backend) load(ctx context.Context, h string) (keys.Algorithm, []byte, error) {
	if !validHandle(h) {
		return "", nil, fmt.Errorf("%w: %q is not a soft handle", keys.ErrKeyNotFound, h)
	}
	blob, err := b.vault.Get(ctx, h)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("%w: %s", keys.ErrKeyNotFound, h)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", keys.ErrBackendUnavailable, err)
	}
	if len(blob) > MaxSealedSize {
		return "", nil, fmt.Errorf("%w: %s: sealed key larger than %d bytes", keys.ErrBackendUnavailable, h, MaxSealedSize)
	}
	plain, err := unseal(b.master, h, blob)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %w", keys.ErrBackendUnavailable, h, err)
	}
	alg, material, ok := strings.Cut(string(plain), "\n")
	clear(plain)
	if !ok {
		return "", nil, fmt.Errorf("%w: %s: malformed sealed key", keys.ErrBackendUnavailable, h)
	}
	return keys.Algorithm(alg), []byte(material), nil
}

// Signer implements [keys.Backend]. The signer holds the private key in
// memory; formatting it prints no key material.
func (b *Backend) Signer(ctx context.Context, h string) (crypto.Signer, error) {
	if s, ok, err := b.sessionKey(h); ok {
		if err != nil {
			return nil, err
		}
		return &signer{handle: h, key: s}, nil
	}
	alg, material, err := b.load(ctx, h)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	if !alg.Asymmetric() {
		return nil, fmt.Errorf("%w: %s is a %s key, which does not sign", keys.ErrUnsupportedAlgorithm, h, alg)
	}
	priv, err := x509.ParsePKCS8PrivateKey(material)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", keys.ErrBackendUnavailable, h, err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %s", keys.ErrUnsupportedAlgorithm, h)
	}
	return &signer{handle: h, key: s}, nil
}

// symmetric loads the 32-byte key of handle h, which must be of alg.
func (b *Backend) symmetric(ctx context.Context, h string, alg keys.Algorithm) ([]byte, error) {
	got, material, err := b.load(ctx, h)
	if err != nil {
		return nil, err
	}
	if got != alg {
		clear(material)
		return nil, fmt.Errorf("%w: %s is a %s key, not %s", keys.ErrUnsupportedAlgorithm, h, got, alg)
	}
	return material, nil
}

// Wrap implements [keys.Wrapper] with AES-256-GCM: nonce ‖ ciphertext ‖
// tag.
func (b *Backend) Wrap(ctx context.Context, h string, plaintext, aad []byte) ([]byte, error) {
	k, err := b.symmetric(ctx, h, keys.AES256)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	aead, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(b.rand, out); err != nil {
		return nil, fmt.Errorf("soft: nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// ErrUnwrap means a wrapped blob does not open: wrong key, wrong
// additional data or a damaged blob.
var ErrUnwrap = errors.New("soft: wrapped data does not open")

// Unwrap implements [keys.Wrapper].
func (b *Backend) Unwrap(ctx context.Context, h string, ciphertext, aad []byte) ([]byte, error) {
	k, err := b.symmetric(ctx, h, keys.AES256)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	aead, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnwrap
	}
	pt, err := aead.Open(nil, ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrUnwrap
	}
	return pt, nil
}

// MAC implements [keys.MACer] with HMAC-SHA256 (RFC 2104).
func (b *Backend) MAC(ctx context.Context, h string, data []byte) ([]byte, error) {
	k, err := b.symmetric(ctx, h, keys.HMACSHA256)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	m := hmac.New(sha256.New, k)
	m.Write(data)
	return m.Sum(nil), nil
}

// Destroy implements [keys.Backend]: the vault deletes the sealed key
// for good ([DirVault] overwrites its file with zeros, syncs it and
// unlinks it).
func (b *Backend) Destroy(ctx context.Context, h string) error {
	if strings.HasPrefix(h, sessionPrefix) {
		return b.destroySession(h)
	}
	if !validHandle(h) {
		return fmt.Errorf("%w: %q is not a soft handle", keys.ErrKeyNotFound, h)
	}
	err := b.vault.Delete(ctx, h)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", keys.ErrKeyNotFound, h)
	}
	if err != nil {
		return fmt.Errorf("soft: destroy %s: %w", h, err)
	}
	return nil
}

// signer is a software key in memory.
type signer struct {
	handle string
	key    crypto.Signer
}

// Public implements crypto.Signer.
func (s *signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign implements crypto.Signer.
func (s *signer) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}

// String describes the signer without its key.
func (s *signer) String() string { return "soft.Signer(" + s.handle + ")" }

// GoString describes the signer without its key.
func (s *signer) GoString() string { return s.String() }

// Format prints s.String() for every verb.
func (s *signer) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, s.String()) }
