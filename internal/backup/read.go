package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys/dataseal"
)

// openStream reads the header of the backup r, checks that key is the
// backup's key, and returns the header and the reader of the archive.
// What the reader yields is authentic only once it returned io.EOF.
func openStream(ctx context.Context, r io.Reader, key []byte) (Header, io.Reader, error) {
	if len(key) != KeySize {
		return Header{}, nil, fmt.Errorf("%w: %d bytes, want %d", ErrKey, len(key), KeySize)
	}
	h, err := ReadHeader(r)
	if err != nil {
		return h, nil, err
	}
	if id := keyID(key); subtle.ConstantTimeCompare(id[:], h.KeyID[:]) != 1 {
		return h, nil, &WrongKeyError{Backup: h.KeyIDString(), Given: hex.EncodeToString(id[:])}
	}
	pr, err := dataseal.NewReader(ctx, kekFor(key), adFor(h), r)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return h, &exhaustive{r: pr, under: r}, nil
}

// exhaustive ends the archive's reader: at the stream's end, the file
// must end too.
type exhaustive struct {
	r, under io.Reader
}

func (e *exhaustive) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		var b [1]byte
		if m, _ := io.ReadFull(e.under, b[:]); m != 0 {
			return n, errors.New("data after the end of the backup")
		}
	}
	return n, err
}

// extraction is what extract found.
type extraction struct {
	m *manifest
	// seen maps every entry's path to the entry as read.
	seen map[string]entry
	// pg is what the archive holds of a PostgreSQL deployment's
	// database (nil if nothing).
	pg *pgExtraction
}

// extract reads the archive from ar, checking every entry's path, and
// writes its directories and files under dst (directories 0700, files
// 0600 or 0400 as their mode says) except the blobs when blobs is false
// (they are hashed only). It then checks the manifest against the
// entries and that the stream ends authentically. Any failure wraps
// [ErrCorrupt], but for errors of dst's file system. The tables of a
// PostgreSQL deployment's backup go to tables (a backup that holds tables
// is refused if it is nil).
func extract(ctx context.Context, ar io.Reader, dst string, blobs bool, tables tableConsumer) (*extraction, error) {
	tr := tar.NewReader(ar)
	x := &extraction{seen: map[string]entry{}}
	var order []string
	var pending *tar.Header
	var pendingErr error
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var hdr *tar.Header
		var err error
		if pending != nil || pendingErr != nil {
			hdr, err, pending, pendingErr = pending, pendingErr, nil, nil
		} else {
			hdr, err = tr.Next()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, corrupt(err)
		}
		if x.m != nil {
			return nil, fmt.Errorf("%w: entries after the manifest", ErrCorrupt)
		}
		if hdr.Name == ManifestName && hdr.Typeflag == tar.TypeReg {
			if hdr.Size > maxManifestSize {
				return nil, fmt.Errorf("%w: manifest of %d bytes", ErrCorrupt, hdr.Size)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, corrupt(err)
			}
			if x.m, err = parseManifest(b); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(hdr.Name, tablePrefix) {
			if tables == nil {
				return nil, fmt.Errorf("%w: entry %s", ErrCorrupt, hdr.Name)
			}
			if hdr.Name == schemaPath && hdr.Typeflag == tar.TypeReg {
				e, err := x.readSchema(tr, hdr)
				if err != nil {
					return nil, err
				}
				if err := tables.schema(ctx, x.pg.schema); err != nil {
					return nil, err
				}
				x.seen[e.Path] = e
				order = append(order, e.Path)
				continue
			}
			if pending, pendingErr, err = x.readTable(ctx, tr, hdr, tables, &order); err != nil {
				return nil, err
			}
			continue
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if err := checkPath(name); err != nil {
			return nil, err
		}
		if _, dup := x.seen[name]; dup {
			return nil, fmt.Errorf("%w: entry %s appears twice", ErrCorrupt, name)
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		e := entry{Path: name, Mode: uint32(hdr.Mode) & 0o7777}
		switch hdr.Typeflag {
		case tar.TypeDir:
			e.Type = typeDir
			if err := os.MkdirAll(target, 0o700); err != nil {
				return nil, fmt.Errorf("backup: %w", err)
			}
		case tar.TypeReg:
			e.Type, e.Size = typeFile, hdr.Size
			write := blobs || !strings.HasPrefix(name, datadir.BlobsDir+"/")
			sum, err := copyEntry(tr, target, hdr.Size, os.FileMode(e.Mode), write)
			if err != nil {
				return nil, err
			}
			e.SHA256 = sum
		default:
			return nil, fmt.Errorf("%w: entry %s is not a file or directory", ErrCorrupt, name)
		}
		x.seen[name] = e
		order = append(order, name)
	}
	if x.m == nil {
		return nil, fmt.Errorf("%w: no manifest (the backup is truncated)", ErrCorrupt)
	}
	// The archive is authentic only at the stream's authentic end.
	if n, err := io.Copy(io.Discard, ar); err != nil || n != 0 {
		if err == nil {
			err = fmt.Errorf("%d bytes after the archive", n)
		}
		return nil, corrupt(err)
	}
	if err := x.checkManifest(order); err != nil {
		return nil, err
	}
	if err := x.checkTables(); err != nil {
		return nil, err
	}
	return x, nil
}

// corrupt wraps err, met while reading the archive, as [ErrCorrupt].
func corrupt(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: %w", ErrCorrupt, err)
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// copyEntry copies the current entry of size bytes from r to path (mode
// 0600, or 0400 when the entry's mode grants its owner no write) unless
// write is false, and returns its SHA-256 in hex.
func copyEntry(r io.Reader, path string, size int64, mode os.FileMode, write bool) (string, error) {
	h := sha256.New()
	if !write {
		if _, err := io.CopyN(h, r, size); err != nil {
			return "", corrupt(err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	perm := os.FileMode(0o600)
	if mode&0o200 == 0 {
		perm = 0o400
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	if _, err := io.CopyN(io.MultiWriter(f, h), r, size); err != nil {
		f.Close()
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("backup: %w", err)
		}
		return "", corrupt(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkManifest checks that the manifest lists exactly the entries read,
// in their order, with their type, size, SHA-256 and mode.
func (x *extraction) checkManifest(order []string) error {
	if len(x.m.Entries) != len(order) {
		return fmt.Errorf("%w: the manifest lists %d entries, the archive holds %d", ErrCorrupt, len(x.m.Entries), len(order))
	}
	for i, want := range x.m.Entries {
		if want.Path != order[i] {
			return fmt.Errorf("%w: entry %d is %s, the manifest says %s", ErrCorrupt, i, order[i], want.Path)
		}
		got := x.seen[want.Path]
		typ := want.Type
		if typ == typeDatabase {
			typ = typeFile
		}
		if got.Type != typ || got.Size != want.Size || got.SHA256 != want.SHA256 || got.Mode != want.Mode {
			return fmt.Errorf("%w: %s differs from the manifest", ErrCorrupt, want.Path)
		}
	}
	return nil
}
