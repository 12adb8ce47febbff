package evidence

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A Signed is a bundle whose manifest is signed before any of it is
// written: [Sign] reads every file once to hash it and signs the
// manifest; [Signed.Write] then streams the same files. A server answers
// with it so that every step that can fail for a reason other than
// reading the files again (the signature, its time-stamp) fails before
// the first byte goes out.
type Signed struct {
	m         Manifest
	files     []File
	manifest  []byte
	signature []byte
}

// Sign hashes files (each read once), builds the manifest as [Write]
// does and signs it with signer.
func Sign(ctx context.Context, m Manifest, files []File, signer ManifestSigner) (*Signed, error) {
	if signer == nil {
		return nil, errors.New("evidence: no manifest signer")
	}
	if m.Created.IsZero() {
		return nil, errors.New("evidence: manifest has no creation time")
	}
	m.Format = Format
	m.Files = make([]Entry, 0, len(files))
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		if f.Path == PathManifest || f.Path == PathManifestSignature || seen[f.Path] {
			return nil, fmt.Errorf("evidence: file %q given twice or reserved", f.Path)
		}
		seen[f.Path] = true
		e, err := hashFile(ctx, f)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, e)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	manifest = append(manifest, '\n')
	sig, err := signer.SignManifest(ctx, manifest)
	if err != nil {
		return nil, fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	return &Signed{m: m, files: files, manifest: manifest, signature: sig}, nil
}

// Manifest returns the signed manifest's bytes.
func (s *Signed) Manifest() []byte { return s.manifest }

// Write writes the bundle to w, in [Write]'s layout: the files, each
// checked against the hash [Sign] found, then the manifest and its
// signature. A file that cannot be read again, or reads differently,
// fails the bundle part-way: the caller must make that failure visible
// (an aborted response), since the ZIP written so far has no manifest and
// no central directory.
func (s *Signed) Write(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	for i, f := range s.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := writeFile(ctx, zw, f, s.m.Created)
		if err != nil {
			return err
		}
		if e != s.m.Files[i] {
			return fmt.Errorf("evidence: %s changed while the bundle was written", f.Path)
		}
	}
	for _, f := range []File{{Path: PathManifest, Data: s.manifest}, {Path: PathManifestSignature, Data: s.signature}} {
		if _, err := writeFile(ctx, zw, f, s.m.Created); err != nil {
			return err
		}
	}
	return zw.Close()
}

// hashFile reads a file once for its manifest entry.
func hashFile(ctx context.Context, f File) (Entry, error) {
	h := sha256.New()
	var n int64
	if f.Open != nil {
		rc, err := f.Open(ctx)
		if err != nil {
			return Entry{}, fmt.Errorf("evidence: open %s: %w", f.Path, err)
		}
		n, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return Entry{}, fmt.Errorf("evidence: read %s: %w", f.Path, err)
		}
	} else {
		h.Write(f.Data)
		n = int64(len(f.Data))
	}
	return Entry{Path: f.Path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}
