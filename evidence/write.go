package evidence

import (
	"archive/zip"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/pades"
)

// Write writes a bundle to w: files in order, then the manifest of their
// SHA-256 hashes and sizes (with m's envelope, tenant and time), then the
// manifest's signature by signer. A file whose content cannot be read, a
// duplicate or unsafe path, or a signature that cannot be made fails the
// whole bundle: the caller discards what was written.
func Write(ctx context.Context, w io.Writer, m Manifest, files []File, signer ManifestSigner) error {
	if signer == nil {
		return errors.New("evidence: no manifest signer")
	}
	if m.Created.IsZero() {
		return errors.New("evidence: manifest has no creation time")
	}
	m.Format = Format
	m.Files = make([]Entry, 0, len(files))
	seen := make(map[string]bool, len(files))
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if f.Path == PathManifest || f.Path == PathManifestSignature || seen[f.Path] {
			return fmt.Errorf("evidence: file %q given twice or reserved", f.Path)
		}
		seen[f.Path] = true
		e, err := writeFile(ctx, zw, f, m.Created)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, e)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	sig, err := signer.SignManifest(ctx, manifest)
	if err != nil {
		return fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	for _, f := range []File{{Path: PathManifest, Data: manifest}, {Path: PathManifestSignature, Data: sig}} {
		if _, err := writeFile(ctx, zw, f, m.Created); err != nil {
			return err
		}
	}
	return zw.Close()
}

// checkPath refuses paths that are not clean, relative and slash-separated.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p ||
		strings.HasPrefix(p, "../") || p == ".." || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("evidence: unsafe file path %q", p)
	}
	return nil
}

// writeFile writes one file, hashing it as it goes.
func writeFile(ctx context.Context, zw *zip.Writer, f File, mod time.Time) (Entry, error) {
	method := zip.Deflate
	if strings.HasSuffix(f.Path, ".pdf") {
		method = zip.Store // already compressed; storing keeps byte ranges easy to inspect
	}
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: f.Path, Method: method, Modified: mod.UTC()})
	if err != nil {
		return Entry{}, fmt.Errorf("evidence: %s: %w", f.Path, err)
	}
	h := sha256.New()
	mw := io.MultiWriter(dst, h)
	var n int64
	if f.Open != nil {
		rc, err := f.Open(ctx)
		if err != nil {
			return Entry{}, fmt.Errorf("evidence: open %s: %w", f.Path, err)
		}
		n, err = io.Copy(mw, rc)
		rc.Close()
		if err != nil {
			return Entry{}, fmt.Errorf("evidence: read %s: %w", f.Path, err)
		}
	} else {
		k, err := mw.Write(f.Data)
		if err != nil {
			return Entry{}, fmt.Errorf("evidence: %s: %w", f.Path, err)
		}
		n = int64(k)
	}
	return Entry{Path: f.Path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// CMSSigner signs manifests as CAdES-T: a detached CMS SignedData with
// the baseline signed attributes, the signer's chain, and a signature
// time-stamp token. Without a time-stamp there is no signature.
type CMSSigner struct {
	// Signer is the tenant's seal key.
	Signer crypto.Signer
	// Certificates are the seal certificate, then its chain.
	Certificates []*x509.Certificate
	// Timestamper time-stamps the signature value (RFC 3161 Appendix A).
	Timestamper pades.Timestamper
}

// SignManifest implements [ManifestSigner].
func (s CMSSigner) SignManifest(ctx context.Context, manifest []byte) ([]byte, error) {
	if s.Signer == nil || len(s.Certificates) == 0 || s.Timestamper == nil {
		return nil, errors.New("evidence: manifest signer needs a key, its certificates and a time-stamp authority")
	}
	sum := sha256.Sum256(manifest)
	sd, err := cms.Sign(s.Signer, sum[:], cms.SignOptions{Hash: crypto.SHA256, Certificates: s.Certificates})
	if err != nil {
		return nil, err
	}
	imprint := sha256.Sum256(sd.Signature())
	tok, err := s.Timestamper.Timestamp(ctx, crypto.SHA256, imprint[:])
	if err != nil {
		return nil, fmt.Errorf("evidence: time-stamp the manifest signature: %w", err)
	}
	if err := sd.SetTimestampToken(tok.Raw); err != nil {
		return nil, err
	}
	return sd.Marshal()
}
