package pades

import (
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/ltv"
)

// readDSS returns the validation data of the document's DSS dictionary, or
// nil if it has none.
func readDSS(r *pdf.Reader) *ltv.Data {
	_, cat, err := r.Catalog()
	if err != nil {
		return nil
	}
	dss, err := r.Dict(cat["DSS"])
	if err != nil || dss == nil {
		return nil
	}
	d := &ltv.Data{}
	streams := func(key pdf.Name) [][]byte {
		arrObj, _ := r.Resolve(dss[key])
		arr, _ := arrObj.(pdf.Array)
		var out [][]byte
		for _, e := range arr {
			o, err := r.Resolve(e)
			if err != nil {
				continue
			}
			if st, ok := o.(*pdf.Stream); ok {
				if data, err := r.Decode(st); err == nil {
					out = append(out, data)
				}
			}
		}
		return out
	}
	for _, der := range streams("Certs") {
		if c, err := x509.ParseCertificate(der); err == nil {
			d.AddCert(c)
		}
	}
	d.OCSPs = streams("OCSPs")
	d.CRLs = streams("CRLs")
	return d
}

// hasDSS reports whether the revision of the file ending at end has a DSS.
func hasDSS(src io.ReaderAt, end int64) bool {
	r, err := pdf.Open(io.NewSectionReader(src, 0, end), end)
	if err != nil {
		return false
	}
	_, cat, err := r.Catalog()
	return err == nil && cat["DSS"] != nil
}

// checkRevocation establishes, from the embedded DSS data only, the
// revocation status of every certificate of every verified chain (the
// trust anchor excepted) at the time the chain was validated at, and sets
// the B-LT and B-LTA levels. The latest time-stamp's chain is only counted
// here: [checkLatest] judges it at the validation time.
func checkRevocation(src io.ReaderAt, rep *Report, dss *ltv.Data, now time.Time) {
	for _, s := range rep.Signatures {
		if len(s.chains) == 0 {
			continue
		}
		covered, total := 0, 0
		var missing []string
		failed := false
		for _, tc := range s.chains {
			for i := 0; i+1 < len(tc.chain); i++ {
				cert, issuer := tc.chain[i], tc.chain[i+1]
				total++
				res, err := dss.Status(cert, issuer)
				if tc.latest {
					if err != nil {
						missing = append(missing, cert.Subject.CommonName)
					} else {
						covered++
					}
					continue
				}
				if err != nil {
					missing = append(missing, cert.Subject.CommonName)
					if now.After(cert.NotAfter) {
						s.unsure("revocation", OutOfBoundsNoPOE, fmt.Sprintf("no embedded revocation data for %q (%s), whose certificate expired on %s: its status at %s cannot be established",
							cert.Subject.CommonName, tc.what, cert.NotAfter.UTC().Format("2006-01-02"), tc.at.UTC().Format(time.RFC3339)))
						failed = true
					}
					continue
				}
				if res.Status == ltv.Revoked && !res.Effective().After(tc.at) {
					s.fail("revocation", RevokedIndication, fmt.Sprintf("%q (%s) is revoked (reason %d) and invalid since %s, before %s",
						cert.Subject.CommonName, tc.what, res.Reason, res.Effective().UTC().Format(time.RFC3339), tc.at.UTC().Format(time.RFC3339)))
					failed = true
					continue
				}
				if res.Status == ltv.Revoked {
					s.check("revocation", Passed, fmt.Sprintf("%q is revoked, invalid only since %s, after the proven time %s", cert.Subject.CommonName,
						res.Effective().UTC().Format(time.RFC3339), tc.at.UTC().Format(time.RFC3339)))
				}
				covered++
			}
		}
		switch {
		case failed:
		case covered == total:
			s.ltv = true
			s.check("revocation", Passed, fmt.Sprintf("status of %d certificate(s) established from embedded OCSP/CRL data", total))
		case covered == 0:
			s.check("revocation", NotChecked, "no revocation data is embedded (levels B-B and B-T) and the certificates have not expired; an online check is still possible")
		default:
			s.check("revocation", NotChecked, fmt.Sprintf("embedded revocation data covers %d of %d certificates; missing: %v", covered, total, missing))
		}
	}
	for i, s := range rep.Signatures {
		if s.Level != "PAdES-B-T" || !s.ltv || len(s.failed) > 0 {
			continue
		}
		s.Level = "PAdES-B-LT"
		for _, t := range rep.Signatures[i+1:] {
			if t.Kind == "document-timestamp" && len(t.failed) == 0 && t.TimestampTime != nil && hasDSS(src, t.end) {
				s.Level = "PAdES-B-LTA"
				break
			}
		}
	}
}
