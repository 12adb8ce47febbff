package ca

import (
	"fmt"
	"strings"
)

// A Reason is a CRLReason code (RFC 5280 §5.3.1). certificateHold and
// removeFromCRL are not supported: Signet revocations are final.
type Reason int

// Revocation reasons (RFC 5280 §5.3.1).
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonPrivilegeWithdrawn   Reason = 9
	ReasonAACompromise         Reason = 10
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
}

// Valid reports whether r is a reason Signet revokes with.
func (r Reason) Valid() bool { _, ok := reasonNames[r]; return ok }

// String returns the RFC 5280 name of r, e.g. "keyCompromise".
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// ParseReason returns the reason named s (the RFC 5280 name, compared
// without regard to case).
func ParseReason(s string) (Reason, error) {
	for r, n := range reasonNames {
		if strings.EqualFold(n, s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("ca: unknown revocation reason %q", s)
}
