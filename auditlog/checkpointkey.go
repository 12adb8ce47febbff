package auditlog

import (
	"crypto/rand"
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
		if err := os.WriteFile(pubPath, []byte(vkey+"\n"), 0o644); err != nil {
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
