package ca

import (
	"fmt"
	"strings"

	"github.com/signet-pki/signet/keys"
)

// A Reason is a CRLReason code (RFC 5280 §5.3.1): the same type the key
// manager revokes keys with, so that a key's revocation carries over to its
// certificates unchanged. certificateHold and removeFromCRL are not
// supported: Signet revocations are final.
type Reason = keys.RevocationReason

// Revocation reasons (RFC 5280 §5.3.1).
const (
	ReasonUnspecified          = keys.ReasonUnspecified
	ReasonKeyCompromise        = keys.ReasonKeyCompromise
	ReasonCACompromise         = keys.ReasonCACompromise
	ReasonAffiliationChanged   = keys.ReasonAffiliationChanged
	ReasonSuperseded           = keys.ReasonSuperseded
	ReasonCessationOfOperation = keys.ReasonCessationOfOperation
	ReasonPrivilegeWithdrawn   = keys.ReasonPrivilegeWithdrawn
	ReasonAACompromise         = keys.ReasonAACompromise
)

// ParseReason returns the reason named s (the RFC 5280 name, compared
// without regard to case).
func ParseReason(s string) (Reason, error) {
	for r := ReasonUnspecified; r <= ReasonAACompromise; r++ {
		if r.Valid() && strings.EqualFold(r.String(), s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("ca: unknown revocation reason %q", s)
}
