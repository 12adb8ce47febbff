package keys

import (
	"fmt"
	"strconv"
)

// A RevocationReason is an RFC 5280 §5.3.1 CRLReason code.
type RevocationReason int

// Revocation reasons a key version can be revoked with. certificateHold
// (6) and removeFromCRL (8) are absent: revoking a key is final.
const (
	ReasonUnspecified          RevocationReason = 0
	ReasonKeyCompromise        RevocationReason = 1
	ReasonCACompromise         RevocationReason = 2
	ReasonAffiliationChanged   RevocationReason = 3
	ReasonSuperseded           RevocationReason = 4
	ReasonCessationOfOperation RevocationReason = 5
	ReasonPrivilegeWithdrawn   RevocationReason = 9
	ReasonAACompromise         RevocationReason = 10
)

var reasonNames = map[RevocationReason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
}

// String returns the RFC 5280 name of r, e.g. "keyCompromise".
func (r RevocationReason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is one of the reasons above.
func (r RevocationReason) Valid() bool { _, ok := reasonNames[r]; return ok }

// ParseRevocationReason parses an RFC 5280 reason name such as
// "keyCompromise" (case-sensitive, as written in the RFC's ASN.1).
func ParseRevocationReason(s string) (RevocationReason, error) {
	for r, n := range reasonNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("keys: unknown revocation reason %q (want an RFC 5280 name such as keyCompromise)", s)
}
