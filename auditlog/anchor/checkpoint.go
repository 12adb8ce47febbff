package anchor

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// maxCheckpointSize bounds the checkpoint notes this package reads.
const maxCheckpointSize = 64 << 10

// checkpoint is the parsed body of a C2SP tlog-checkpoint.
type checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// checkpointBody returns the body of a signed checkpoint note: the text up
// to and including the newline before the blank line that starts the
// signature block (C2SP signed-note). The body is checked to be a
// well-formed checkpoint; signatures are not verified.
func checkpointBody(signed []byte) ([]byte, checkpoint, error) {
	if len(signed) > maxCheckpointSize {
		return nil, checkpoint{}, fmt.Errorf("%w: checkpoint note exceeds %d bytes", ErrMalformed, maxCheckpointSize)
	}
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return nil, checkpoint{}, fmt.Errorf("%w: checkpoint note has no signature block", ErrMalformed)
	}
	body := signed[:i+1]
	c, err := parseCheckpoint(body)
	if err != nil {
		return nil, checkpoint{}, err
	}
	return body, c, nil
}

// parseCheckpoint parses a C2SP tlog-checkpoint body: an origin line, the
// tree size in decimal without leading zeroes, the base64 root hash, then
// optional non-empty extension lines, each line ending in a newline.
func parseCheckpoint(body []byte) (checkpoint, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return checkpoint{}, fmt.Errorf("%w: checkpoint body does not end in a newline", ErrMalformed)
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("%w: checkpoint body has %d lines, want at least 3", ErrMalformed, len(lines))
	}
	for _, l := range lines {
		if l == "" {
			return checkpoint{}, fmt.Errorf("%w: checkpoint body has an empty line", ErrMalformed)
		}
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return checkpoint{}, fmt.Errorf("%w: checkpoint size: %w", ErrMalformed, err)
	}
	h, err := decodeBase64(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("%w: checkpoint root hash is not base64 of %d bytes", ErrMalformed, tlog.HashSize)
	}
	c := checkpoint{Origin: lines[0], Size: size}
	copy(c.Hash[:], h)
	return c, nil
}

// parseSize parses a tree size: ASCII decimal with no sign and no leading
// zeroes, "0" for zero.
func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a decimal size", s)
	}
	return n, nil
}

// decodeBase64 decodes canonical standard base64 (RFC 4648 §4). Unlike
// encoding/base64 alone it refuses embedded CR and LF characters, so that
// each accepted encoding has exactly one form.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("base64 contains a line break")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
