package anchor

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/auditlog"
)

// maxCheckpointSize bounds the checkpoint notes this package reads.
const maxCheckpointSize = 64 << 10

// checkpointBody returns the body of a signed checkpoint note: the text up
// to and including the newline before the blank line that starts the
// signature block (C2SP signed-note). The body is checked to be a
// well-formed checkpoint ([auditlog.ParseTreeHead]); signatures are not
// verified.
func checkpointBody(signed []byte) ([]byte, auditlog.TreeHead, error) {
	if len(signed) > maxCheckpointSize {
		return nil, auditlog.TreeHead{}, fmt.Errorf("%w: checkpoint note exceeds %d bytes", ErrMalformed, maxCheckpointSize)
	}
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return nil, auditlog.TreeHead{}, fmt.Errorf("%w: checkpoint note has no signature block", ErrMalformed)
	}
	body := signed[:i+1]
	c, err := auditlog.ParseTreeHead(body)
	if err != nil {
		return nil, auditlog.TreeHead{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return body, c, nil
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
