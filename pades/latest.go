package pades

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/signet-pki/signet/ltv"
)

// latestTimestamp returns the index in rep.Signatures of the document's
// latest time-stamp: of the signatures and document time-stamps whose
// time-stamp is intact and chains to the trust anchors, the last in file
// order (a B-LTA document's last document time-stamp; without one, the
// last signature time-stamp). It covers everything before it. A
// time-stamp that does not chain proves nothing and is passed over; when
// none chains (no trust anchors), the last intact one is returned, for
// the renewal state only. -1 when there is none.
func latestTimestamp(rep *Report) int {
	last := -1
	for i := len(rep.Signatures) - 1; i >= 0; i-- {
		s := rep.Signatures[i]
		if s.TimestampTime == nil || s.tsCert == nil || (s.Kind == "document-timestamp" && len(s.failed) > 0) {
			continue
		}
		if s.tsChain != nil {
			return i
		}
		if last < 0 {
			last = i
		}
	}
	return last
}

// checkLatest applies the validation model of ETSI EN 319 102-1 to the
// latest time-stamp: earlier time-stamps, signatures and validation data
// get proof of existence from the later time-stamps that cover them and
// are validated at the times these prove, but the latest time-stamp's own
// claim of time proves nothing once its key could be compromised. Its
// authority's chain must therefore still be valid, and not revoked, at the
// validation time now. When it is not, the time-stamp and every signature
// and time-stamp it protects are INDETERMINATE: OUT_OF_BOUNDS_NO_POE when
// a certificate of the chain has expired, REVOKED_NO_POE when one is
// revoked (from the embedded revocation data). It sets rep.Renewal.
func checkLatest(rep *Report, dss *ltv.Data, now time.Time) {
	li := latestTimestamp(rep)
	if li < 0 {
		return
	}
	l := rep.Signatures[li]
	chain := l.tsChain
	if chain == nil {
		chain = []*x509.Certificate{l.tsCert}
	}
	due, expiring := chain[0].NotAfter, chain[0]
	for _, c := range chain[1:] {
		if c.NotAfter.Before(due) {
			due, expiring = c.NotAfter, c
		}
	}
	var revokedAt time.Time
	var revoked *x509.Certificate
	for i := 0; i+1 < len(chain); i++ {
		res, err := dss.Status(chain[i], chain[i+1])
		if err != nil || res.Status != ltv.Revoked {
			continue
		}
		if eff := res.Effective(); revoked == nil || eff.Before(revokedAt) {
			revokedAt, revoked = eff, chain[i]
		}
	}
	needed := now.After(due)
	if revoked != nil && revokedAt.Before(due) {
		due = revokedAt
		needed = !now.Before(revokedAt)
	}
	rep.Renewal = &Renewal{Field: l.Field, Time: l.TimestampTime.UTC(), Authority: l.tsCert.Subject.String(), NotAfter: due.UTC(), Needed: needed}
	for i := range l.chains {
		if l.chains[i].what == "time-stamp authority" {
			l.chains[i].latest = true
		}
	}
	if l.tsChain == nil {
		// Not trusted at all: already INDETERMINATE for that reason.
		return
	}
	which := fmt.Sprintf("the latest time-stamp (%s, %s by %s)", l.Field, l.TimestampTime.UTC().Format(time.RFC3339), l.tsCert.Subject.CommonName)
	var sub, reason string
	switch {
	case revoked != nil && needed:
		sub = RevokedNoPOE
		reason = fmt.Sprintf("%s proves nothing at %s: the certificate %q of its authority was revoked on %s, and no later archive time-stamp proves the signed data existed before; renewal was due by %s",
			which, now.UTC().Format(time.RFC3339), revoked.Subject.CommonName, revokedAt.UTC().Format(time.RFC3339), due.UTC().Format("2006-01-02"))
	case needed:
		sub = OutOfBoundsNoPOE
		reason = fmt.Sprintf("%s proves nothing at %s: the certificate %q of its authority's chain expired on %s, and no later archive time-stamp renewed it; renewal was due by %s",
			which, now.UTC().Format(time.RFC3339), expiring.Subject.CommonName, expiring.NotAfter.UTC().Format(time.RFC3339), due.UTC().Format("2006-01-02"))
	case now.Before(l.TimestampTime.Add(-maxClockSkew)):
		sub = OutOfBoundsNoPOE
		reason = fmt.Sprintf("%s is later than the validation time %s", which, now.UTC().Format(time.RFC3339))
	default:
		l.check("latest-timestamp", Passed, fmt.Sprintf("the authority's chain is valid at the validation time %s; renewal due by %s",
			now.UTC().Format(time.RFC3339), due.UTC().Format("2006-01-02")))
		return
	}
	for _, s := range rep.Signatures[:li+1] {
		s.unsure("latest-timestamp", sub, reason)
	}
}

// maxClockSkew is how far a time-stamp's genTime may be after the
// validation time (clocks of the authority and the verifier differ).
const maxClockSkew = 5 * time.Minute
