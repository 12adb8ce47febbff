package auditlog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// LoadCheckpointKey returns the checkpoint signer held in keyPath, a note
// signer key file readable by its owner only. On first use it creates an
// Ed25519 key named origin (the file with O_EXCL and mode 0600) and writes
// the verifier key, which auditors use with `signet audit verify`, to
// pubPath. A key file whose mode grants access to group or others is
// refused.
func LoadCheckpointKey(keyPath, pubPath, origin string) (note.Signer, error) {
	st, err := os.Lstat(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		skey, vkey, err := note.GenerateKey(rand.Reader, origin)
		if err != nil {
			return nil, fmt.Errorf("auditlog: checkpoint key: %w", err)
		}
		f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadCheckpointKey(keyPath, pubPath, origin)
		}
		if err != nil {
			return nil, fmt.Errorf("auditlog: checkpoint key: %w", err)
		}
		_, werr := f.WriteString(skey + "\n")
		serr := f.Sync()
		if err := errors.Join(werr, serr, f.Close()); err != nil {
			return nil, fmt.Errorf("auditlog: checkpoint key: %w", err)
		}
		if err := os.WriteFile(pubPath, []byte(vkey+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("auditlog: checkpoint verifier key: %w", err)
		}
		return note.NewSigner(skey)
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: checkpoint key: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auditlog: checkpoint key %s must be a regular file of mode 0600, not %v", keyPath, st.Mode())
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("auditlog: checkpoint key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("auditlog: checkpoint key %s: malformed", keyPath)
	}
	return s, nil
}

// NoteSigner makes s, an Ed25519 key held elsewhere (the key store or an
// HSM), the checkpoint signer named name, and returns it with its
// verifier key: C2SP signed notes are Ed25519 signatures over the note
// text. Signing passes the note text to s unhashed (crypto.Hash(0)), as
// Ed25519 requires.
func NoteSigner(name string, s crypto.Signer) (note.Signer, string, error) {
	pub, ok := s.Public().(ed25519.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("auditlog: checkpoint key is %T, not Ed25519", s.Public())
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, "", fmt.Errorf("auditlog: checkpoint key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("auditlog: checkpoint key: %w", err)
	}
	return &cryptoNoteSigner{name: name, hash: v.KeyHash(), s: s}, vkey, nil
}

type cryptoNoteSigner struct {
	name string
	hash uint32
	s    crypto.Signer
}

func (n *cryptoNoteSigner) Name() string    { return n.name }
func (n *cryptoNoteSigner) KeyHash() uint32 { return n.hash }
func (n *cryptoNoteSigner) Sign(msg []byte) ([]byte, error) {
	return n.s.Sign(rand.Reader, msg, crypto.Hash(0))
}

// ParseNoteKey returns the name and Ed25519 key of a note signer key
// ("PRIVATE+KEY+name+hash+base64(0x01 ‖ seed)", as [LoadCheckpointKey]
// files hold), for moving it into a key store. The key hash is checked.
func ParseNoteKey(skey string) (string, ed25519.PrivateKey, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return "", nil, fmt.Errorf("auditlog: note key: %w", err)
	}
	// The base64 key may itself contain "+": split off the four fields
	// before it ("PRIVATE", "KEY", name, hash; a name has no "+").
	fields := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", nil, errors.New("auditlog: note key: not an Ed25519 key")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	clear(raw)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), priv.Public().(ed25519.PublicKey))
	if err != nil {
		return "", nil, fmt.Errorf("auditlog: note key: %w", err)
	}
	if v, err := note.NewVerifier(vkey); err != nil || v.KeyHash() != s.KeyHash() {
		return "", nil, errors.New("auditlog: note key: hash does not match the key")
	}
	return s.Name(), priv, nil
}

// ParseVerifiers parses checkpoint verifier keys, one per line (the
// format of audit.pub: the current key first, then keys of earlier
// versions); blank lines are skipped. No key at all is an error.
func ParseVerifiers(text string) ([]note.Verifier, error) {
	var vs []note.Verifier
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		v, err := note.NewVerifier(line)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, errors.New("no verifier key")
	}
	return vs, nil
}
