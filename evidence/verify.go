package evidence

import (
	"crypto/x509"
	"errors"
	"io"
	"time"

	"github.com/signet-pki/signet/pades"
)

// Indications of a bundle's [Report] (ETSI EN 319 102-1 terms).
const (
	Valid         = "VALID"
	Invalid       = "INVALID"
	Indeterminate = "INDETERMINATE"
)

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// Roots are the trust anchors of every certificate chain (the
	// tenant's seal certificate, signers' certificates, time-stamp
	// authorities). None means no chain is trusted.
	Roots *x509.CertPool
	// Now returns the validation time; nil means time.Now.
	Now func() time.Time
	// LogKey, when set, is the audit log's checkpoint verifier key the
	// caller trusts; otherwise the bundle's own key is used, which the
	// manifest's signature covers.
	LogKey string
}

// A Report is the result of verifying a bundle. Its JSON form is
// documented in docs/VERIFY-JSON.md.
type Report struct {
	// Indication is VALID, INVALID or INDETERMINATE.
	Indication string `json:"indication"`
	// SubIndication says why a result is not VALID.
	SubIndication string `json:"sub_indication,omitempty"`
	// EnvelopeID and Tenant are the manifest's.
	EnvelopeID string `json:"envelope_id"`
	Tenant     string `json:"tenant"`
	// Checks are the steps, in order, each with its outcome.
	Checks []Check `json:"checks"`
	// Findings name every gap or contradiction found.
	Findings []Finding `json:"findings,omitempty"`
	// Documents are the PDF reports of the documents' final versions and
	// the certificate of completion, by bundle path.
	Documents map[string]*pades.Report `json:"documents,omitempty"`
}

// A Check is one step of a bundle's verification.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // pades.Passed, pades.Failed, pades.CheckIndeterminate
	Detail string `json:"detail,omitempty"`
}

// A Finding is one gap or contradiction, named.
type Finding struct {
	// Code is a stable name, e.g. "event-missing", "inclusion-proof".
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// Path is the bundle file concerned, if any.
	Path string `json:"path,omitempty"`
}

// Valid reports whether the bundle verified.
func (r *Report) Valid() bool { return r.Indication == Valid }

// ErrNotBundle means the input is not a ZIP file an evidence bundle could
// be (no manifest, or not a ZIP at all).
var ErrNotBundle = errors.New("evidence: not an evidence bundle")

// Verify checks the bundle in r offline. It returns an error only when r
// cannot be read as a bundle; everything else is in the report.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	return nil, errors.New("evidence: verification is not available in this build")
}
