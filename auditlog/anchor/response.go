package anchor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// maxSignatureLines bounds the signature lines read from one witness
// response.
const maxSignatureLines = 100

// sigLine is one note signature line: "— <name> <base64>" where the
// decoded bytes start with a 4-byte key ID.
type sigLine struct {
	Name  string
	KeyID uint32
	Text  string // the whole line, without its newline
}

// parseSignatureLines parses the body of a 200 answer to add-checkpoint:
// one or more note signature lines, each ending in a newline (C2SP
// tlog-witness). Lines of any signature type are accepted here; the caller
// picks those of the keys it knows.
func parseSignatureLines(body []byte) ([]sigLine, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, fmt.Errorf("%w: witness response does not end in a newline", ErrMalformed)
	}
	var out []sigLine
	for _, line := range strings.Split(string(body[:len(body)-1]), "\n") {
		if len(out) == maxSignatureLines {
			return nil, fmt.Errorf("%w: witness response has more than %d lines", ErrMalformed, maxSignatureLines)
		}
		rest, ok := strings.CutPrefix(line, sigLinePrefix)
		if !ok {
			return nil, fmt.Errorf("%w: witness response line does not start with %q", ErrMalformed, sigLinePrefix)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || !validKeyName(name) {
			return nil, fmt.Errorf("%w: witness response line has no valid key name", ErrMalformed)
		}
		raw, err := decodeBase64(b64)
		if err != nil || len(raw) < 5 {
			return nil, fmt.Errorf("%w: witness response line for %s has no valid signature", ErrMalformed, name)
		}
		out = append(out, sigLine{Name: name, KeyID: binary.BigEndian.Uint32(raw[:4]), Text: line})
	}
	return out, nil
}

// parseSizeBody parses the body of a 409 answer to add-checkpoint: a tree
// size in decimal followed by a newline (C2SP tlog-witness).
func parseSizeBody(body []byte) (int64, error) {
	s, ok := bytes.CutSuffix(body, []byte("\n"))
	if !ok {
		return 0, fmt.Errorf("%w: witness size does not end in a newline", ErrMalformed)
	}
	n, err := parseSize(string(s))
	if err != nil {
		return 0, fmt.Errorf("%w: witness size: %w", ErrMalformed, err)
	}
	return n, nil
}
