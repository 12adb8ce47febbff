package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/signet-pki/signet/pades"
)

// open reads the ZIP's central directory, enforces the bounds and path
// rules, and hashes every file once, streaming.
func (v *verifier) open(size int64) error {
	maxEntries, maxFile, maxTotal := v.opts.MaxEntries, v.opts.MaxFileSize, v.opts.MaxTotalSize
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxFile <= 0 {
		maxFile = DefaultMaxFileSize
	}
	if maxTotal <= 0 {
		maxTotal = DefaultMaxTotalSize
	}
	var magic [4]byte
	if size < 4 {
		return fmt.Errorf("%w: %d bytes", ErrNotBundle, size)
	}
	if _, err := v.r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "PK\x03\x04" {
		return fmt.Errorf("%w: not a ZIP file", ErrNotBundle)
	}
	zr, err := zip.NewReader(v.r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	if len(zr.File) > maxEntries {
		return fmt.Errorf("%w: %d entries, at most %d", ErrLimit, len(zr.File), maxEntries)
	}
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > uint64(maxFile) {
			return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrLimit, printable(f.Name), u, maxFile)
		}
		if total += u; total > uint64(maxTotal) {
			return fmt.Errorf("%w: more than %d bytes uncompressed", ErrLimit, maxTotal)
		}
		if u > 1<<20 && (c == 0 || u/c > MaxCompressionRatio) {
			return fmt.Errorf("%w: %s compresses %d bytes into %d (a decompression bomb?)", ErrLimit, printable(f.Name), u, c)
		}
	}
	v.files = make(map[string]*zip.File, len(zr.File))
	v.sums = make(map[string]string, len(zr.File))
	bad := false
	for _, f := range zr.File {
		switch {
		case checkPath(f.Name) != nil:
			v.invalid("archive-unsafe-path", "", "the ZIP holds an entry with an unsafe or unexpected name %q (absolute, parent directory, backslash or a directory)", printable(f.Name))
			bad = true
			continue
		case v.files[f.Name] != nil:
			v.invalid("archive-duplicate", f.Name, "the ZIP holds two entries named %s: which one a reader sees depends on the tool", f.Name)
			bad = true
			continue
		case f.Method != zip.Store && f.Method != zip.Deflate:
			v.invalid("archive-unreadable", f.Name, "unsupported compression method %d", f.Method)
			bad = true
			continue
		}
		v.files[f.Name] = f
		v.order = append(v.order, f.Name)
	}
	if v.files[PathManifest] == nil {
		return fmt.Errorf("%w: no %s", ErrNotBundle, PathManifest)
	}
	for _, name := range v.order {
		sum, err := v.hash(v.files[name])
		if err != nil {
			v.invalid("archive-unreadable", name, "cannot read the file: %v", err)
			bad = true
			continue
		}
		v.sums[name] = sum
	}
	if bad {
		v.check("archive", pades.Failed, fmt.Sprintf("%d entries; see the findings", len(zr.File)))
	} else {
		v.check("archive", pades.Passed, fmt.Sprintf("%d entries, %d bytes uncompressed, names safe and unique", len(zr.File), total))
	}
	return nil
}

// hash streams f through SHA-256, checking its CRC and declared size.
func (v *verifier) hash(f *zip.File) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return "", err
	}
	if uint64(n) != f.UncompressedSize64 {
		return "", fmt.Errorf("%d bytes, the ZIP declares %d", n, f.UncompressedSize64)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// read returns a small file's content, or false if the bundle has no
// readable file of that name (or it is larger than limit).
func (v *verifier) read(name string, limit int64) ([]byte, bool) {
	f := v.files[name]
	if f == nil || f.UncompressedSize64 > uint64(limit) {
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil || int64(len(b)) > limit {
		return nil, false
	}
	return b, true
}

// section returns a file's content for random access: the stored bytes in
// place, or a compressed file inflated into memory (bounded).
func (v *verifier) section(name string) (io.ReaderAt, int64, error) {
	f := v.files[name]
	if f == nil {
		return nil, 0, errors.New("no such file")
	}
	if f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 {
		off, err := f.DataOffset()
		if err != nil {
			return nil, 0, err
		}
		return io.NewSectionReader(v.r, off, int64(f.UncompressedSize64)), int64(f.UncompressedSize64), nil
	}
	b, ok := v.read(name, maxInMemoryPDF)
	if !ok {
		return nil, 0, fmt.Errorf("a compressed PDF larger than %d bytes is not read", maxInMemoryPDF)
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// printable quotes a name for a message, shortened.
func printable(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(fmt.Sprintf("%q", s), "?")
}
