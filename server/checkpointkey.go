package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

// checkpointKeyLabel labels the key store's audit checkpoint key.
const checkpointKeyLabel = "audit checkpoints"

// CheckpointSigner returns the signer of data directory dir's audit
// checkpoints (origin names the log):
//
//   - the key store's audit-checkpoint key (Ed25519, sealed by the
//     backend like every other key), created on first use, whose verifier
//     keys, the active version's first and then every earlier version's,
//     it writes to DIR/audit.pub for `signet audit verify`;
//   - or, in a data directory created before checkpoint keys moved into
//     the key store, the note key file DIR/audit.key it already has.
//
// Rotating the key (`signet keys rotate`) takes effect at the next start;
// checkpoints signed by earlier versions still verify.
func CheckpointSigner(ctx context.Context, dir, origin string, m *keys.Manager) (note.Signer, error) {
	legacy := filepath.Join(dir, "audit.key")
	if _, err := os.Lstat(legacy); err == nil {
		return auditlog.LoadCheckpointKey(legacy, filepath.Join(dir, "audit.pub"), origin)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	k, err := checkpointKey(ctx, m)
	if err != nil {
		return nil, err
	}
	s, _, err := m.Signer(ctx, k.ID, keys.PurposeAuditCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	signer, vkey, err := auditlog.NoteSigner(origin, s)
	if err != nil {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	// Every checkpoint key this store ever held, every version: a
	// checkpoint signed before a rotation, or by a key since revoked,
	// still verifies (against the key's history, not its present state).
	lines := []string{vkey}
	all, err := m.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	for _, old := range all {
		if old.Purpose != keys.PurposeAuditCheckpoint || old.Label != checkpointKeyLabel {
			continue
		}
		for i := len(old.Versions) - 1; i >= 0; i-- {
			pub, ok := old.Versions[i].Public.(ed25519.PublicKey)
			if !ok {
				continue
			}
			v, err := note.NewEd25519VerifierKey(origin, pub)
			if err != nil {
				return nil, fmt.Errorf("server: checkpoint key: %w", err)
			}
			if !slices.Contains(lines, v) {
				lines = append(lines, v)
			}
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "audit.pub"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("server: checkpoint verifier keys: %w", err)
	}
	return signer, nil
}

// checkpointKey returns the key store's audit checkpoint key, creating it
// if there is none.
func checkpointKey(ctx context.Context, m *keys.Manager) (*keys.Key, error) {
	all, err := m.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	for _, k := range all {
		if k.Purpose == keys.PurposeAuditCheckpoint && k.Label == checkpointKeyLabel && k.Active() != nil {
			return k, nil
		}
	}
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519, Label: checkpointKeyLabel})
	if err != nil {
		return nil, fmt.Errorf("server: checkpoint key: %w", err)
	}
	return k, nil
}
