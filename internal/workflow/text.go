package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/signet-pki/signet/internal/api"
)

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// problemType returns the problem type slug of err, for audit reasons.
func problemType(err error) string {
	var e *api.Error
	if errors.As(err, &e) && e.Type != "" {
		return e.Type
	}
	return "error"
}

// quoteID quotes an id for a problem detail, truncated so a hostile id
// cannot flood responses or logs.
func quoteID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return strconv.Quote(id)
}
