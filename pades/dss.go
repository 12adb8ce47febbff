package pades

import (
	"fmt"
	"io"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/ltv"
)

// Validation is the validation material a signed PDF carries: what its
// DSS dictionary holds (certificates, OCSP responses, CRLs), the
// certificates embedded in its signatures and time-stamp tokens, and
// those tokens (signature time-stamps and document time-stamps).
type Validation struct {
	ltv.Data
	// Timestamps are the DER RFC 3161 time-stamp tokens, oldest first.
	Timestamps [][]byte
}

// ValidationData returns the validation material of the PDF in src, for
// checking by hand (an evidence bundle's validation/ directory). It does
// not verify anything; a PDF without signatures yields empty material.
// An unreadable PDF, signature or token is an error.
func ValidationData(src io.ReaderAt, size int64) (*Validation, error) {
	r, err := pdf.Open(src, size)
	if err != nil {
		return nil, err
	}
	items, err := signedItems(r)
	if err != nil {
		return nil, err
	}
	v := &Validation{}
	if d := readDSS(r); d != nil {
		v.Add(d)
	}
	for _, it := range items {
		if it.signer != nil {
			v.AddCert(it.signer)
		}
		for _, c := range it.certs {
			v.AddCert(c)
		}
		for _, tok := range it.tokens {
			if tok.SignedData == nil {
				return nil, fmt.Errorf("pades: time-stamp of %q has no signed data", it.field)
			}
			for _, c := range tok.SignedData.Certificates {
				v.AddCert(c)
			}
			v.Timestamps = append(v.Timestamps, tok.Raw)
		}
	}
	return v, nil
}
