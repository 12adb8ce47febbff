package backup

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Magic opens every backup file.
const Magic = "SIGNETBK"

// FormatVersion is the version of the format this package writes and
// reads.
const FormatVersion = 1

// HeaderSize is the size of a backup's plaintext header, in bytes.
const HeaderSize = len(Magic) + 1 + keyIDSize + idSize

// idSize is the size of a backup id, in bytes.
const idSize = 16

// Errors a caller may branch on; each names what is wrong with a file.
var (
	// ErrNotBackup means the file is not a Signet backup (no magic, or
	// shorter than a header).
	ErrNotBackup = errors.New("backup: not a Signet backup")
	// ErrFormatVersion means the file is a backup of a format version
	// this Signet does not read.
	ErrFormatVersion = errors.New("backup: unsupported backup format version")
	// ErrCorrupt means the backup fails authentication or its contents
	// disagree with its manifest: it was damaged, truncated or altered
	// (or its header was). Nothing of it is to be trusted.
	ErrCorrupt = errors.New("backup: backup is corrupt, truncated or altered")
)

// WrongKeyError reports a backup made with another key than the one
// given.
type WrongKeyError struct {
	// Backup is the id of the key the backup was made with; Given the id
	// of the key given (see [KeyID]).
	Backup, Given string
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("backup: wrong backup key: the backup was made with key %s, the key given is %s", e.Backup, e.Given)
}

// Header is a backup's plaintext header.
type Header struct {
	// Version is the format version.
	Version byte
	// KeyID is the id of the backup key ([KeyID]).
	KeyID [keyIDSize]byte
	// ID names the backup.
	ID [idSize]byte
}

// KeyIDString returns the key id in hex, as [KeyID] prints it.
func (h Header) KeyIDString() string { return hex.EncodeToString(h.KeyID[:]) }

// IDString returns the backup id in hex.
func (h Header) IDString() string { return hex.EncodeToString(h.ID[:]) }

// Marshal returns the header's encoding.
func (h Header) Marshal() []byte {
	b := make([]byte, 0, HeaderSize)
	b = append(b, Magic...)
	b = append(b, h.Version)
	b = append(b, h.KeyID[:]...)
	return append(b, h.ID[:]...)
}

// ParseHeader parses the first [HeaderSize] bytes of b (the rest is the
// stream). It fails with [ErrNotBackup] or [ErrFormatVersion].
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < len(Magic) || !bytes.Equal(b[:len(Magic)], []byte(Magic)) {
		return h, fmt.Errorf("%w (no %q magic)", ErrNotBackup, Magic)
	}
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: header truncated", ErrCorrupt)
	}
	h.Version = b[len(Magic)]
	if h.Version != FormatVersion {
		return h, fmt.Errorf("%w %d (this Signet reads version %d)", ErrFormatVersion, h.Version, FormatVersion)
	}
	copy(h.KeyID[:], b[len(Magic)+1:])
	copy(h.ID[:], b[len(Magic)+1+keyIDSize:])
	return h, nil
}

// ReadHeader reads and parses the header at the start of r.
func ReadHeader(r io.Reader) (Header, error) {
	b := make([]byte, HeaderSize)
	n, err := io.ReadFull(r, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Header{}, fmt.Errorf("backup: read header: %w", err)
	}
	return ParseHeader(b[:n])
}
