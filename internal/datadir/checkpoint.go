package datadir

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

// CheckpointSigner returns the signer of the service audit log's
// checkpoints: the key store's audit-checkpoint key (see
// [checkpointSigner]), origin [AuditOrigin]. It opens the key manager.
func (d *Dir) CheckpointSigner(ctx context.Context) (note.Signer, error) {
	m, err := d.Keys(ctx)
	if err != nil {
		return nil, err
	}
	return checkpointSigner(ctx, d.path, AuditOrigin, m)
}

// NoteCheckpointSigner returns the checkpoint signer of a data directory
// without a key store: the note key file audit.key, created with
// audit.pub on first use, for the log named origin.
func (d *Dir) NoteCheckpointSigner(origin string) (note.Signer, error) {
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	return auditlog.LoadCheckpointKey(d.File(AuditNoteKey), d.File(AuditPub), origin)
}

// checkpointKeyLabel labels the key store's audit checkpoint key.
const checkpointKeyLabel = "audit checkpoints"

// checkpointSigner returns the signer of data directory dir's audit
// checkpoints (origin names the log): the key store's audit-checkpoint key
// (Ed25519, sealed by the backend like every other key), created on first
// use, whose verifier keys, the active version's first and then every
// earlier one's, it writes to DIR/audit.pub for `signet audit verify`.
//
// A data directory of an earlier version keeps its checkpoint key in the
// note key file DIR/audit.key: that key is imported into the key store
// (same key, so audit.pub and every checkpoint stay valid) and the file
// is overwritten and removed. A backend that cannot import keeps using the
// file.
//
// Rotating the key (`signet keys rotate`) takes effect at the next start;
// checkpoints signed by earlier versions still verify.
func checkpointSigner(ctx context.Context, dir, origin string, m *keys.Manager) (note.Signer, error) {
	legacy := filepath.Join(dir, AuditNoteKey)
	if _, err := os.Lstat(legacy); err == nil {
		imported, err := importNoteKey(ctx, legacy, filepath.Join(dir, AuditPub), origin, m)
		if errors.Is(err, keys.ErrUnsupportedAlgorithm) {
			return auditlog.LoadCheckpointKey(legacy, filepath.Join(dir, AuditPub), origin)
		}
		if err != nil || !imported {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	k, err := checkpointKey(ctx, m)
	if err != nil {
		return nil, err
	}
	s, _, err := m.Signer(ctx, k.ID, keys.PurposeAuditCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	signer, vkey, err := auditlog.NoteSigner(origin, s)
	if err != nil {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	// Every checkpoint key this store ever held, every version: a
	// checkpoint signed before a rotation, or by a key since revoked,
	// still verifies (against the key's history, not its present state).
	lines := []string{vkey}
	all, err := m.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
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
				return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
			}
			if !slices.Contains(lines, v) {
				lines = append(lines, v)
			}
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, AuditPub), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("datadir: checkpoint verifier keys: %w", err)
	}
	return signer, nil
}

// checkpointKey returns the key store's audit checkpoint key, creating it
// if there is none.
func checkpointKey(ctx context.Context, m *keys.Manager) (*keys.Key, error) {
	all, err := m.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	for _, k := range all {
		if k.Purpose == keys.PurposeAuditCheckpoint && k.Label == checkpointKeyLabel && k.Active() != nil {
			return k, nil
		}
	}
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519, Label: checkpointKeyLabel})
	if err != nil {
		return nil, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	return k, nil
}

// importNoteKey moves the checkpoint key of note key file path into the
// key store, unless a checkpoint key there already is that key (an import
// interrupted before the file was removed), then overwrites and removes
// the file.
func importNoteKey(ctx context.Context, path, pubPath, origin string, m *keys.Manager) (bool, error) {
	// LoadCheckpointKey checks the file (regular, mode 0600, well formed).
	if _, err := auditlog.LoadCheckpointKey(path, pubPath, origin); err != nil {
		return false, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	name, priv, err := auditlog.ParseNoteKey(strings.TrimSpace(string(b)))
	clear(b)
	if err != nil {
		return false, fmt.Errorf("datadir: checkpoint key %s: %w", path, err)
	}
	defer clear(priv)
	if name != origin {
		return false, fmt.Errorf("datadir: checkpoint key %s is for %q, not %q", path, name, origin)
	}
	all, err := m.List(ctx, "")
	if err != nil {
		return false, fmt.Errorf("datadir: checkpoint key: %w", err)
	}
	have := false
	for _, k := range all {
		for _, v := range k.Versions {
			if pub, ok := v.Public.(ed25519.PublicKey); ok && k.Purpose == keys.PurposeAuditCheckpoint && pub.Equal(priv.Public()) {
				have = true
			}
		}
	}
	if !have {
		if _, err := m.Import(ctx, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519, Label: checkpointKeyLabel}, priv); err != nil {
			return false, fmt.Errorf("datadir: import checkpoint key: %w", err)
		}
	}
	if err := shred(path); err != nil {
		return false, fmt.Errorf("datadir: remove imported checkpoint key file: %w", err)
	}
	return true, nil
}

// shred overwrites the file at path with zeros, syncs it and removes it.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.Write(make([]byte, fi.Size()))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Remove(path)
}
