package evidence

import (
	"archive/zip"
	"crypto/x509"
	"errors"
	"fmt"
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

// Default bounds of [Verify] (see [VerifyOptions]).
const (
	DefaultMaxEntries   = 20000
	DefaultMaxFileSize  = 512 << 20
	DefaultMaxTotalSize = 2 << 30
	// MaxCompressionRatio bounds the ratio of a compressed file's size to
	// its compressed size (for files above 1 MiB): beyond it the file is
	// refused as a decompression bomb.
	MaxCompressionRatio = 200
	// maxSmallFile bounds the files Verify reads into memory (JSON,
	// checkpoints, proofs, anchors, the manifest's signature).
	maxSmallFile = 4 << 20
	// maxManifest bounds the manifest.
	maxManifest = 16 << 20
	// maxInMemoryPDF bounds a compressed PDF, which must be inflated into
	// memory to be read at random (stored PDFs are read in place).
	maxInMemoryPDF = 64 << 20
)

// ClockTolerance is the slack allowed between the clocks of the events'
// recorder and of the time-stamp authorities when Verify compares their
// times (a signature's time-stamp against its signer's authentication and
// the envelope's completion).
const ClockTolerance = 5 * time.Minute

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
	// Witnesses are the note verifier keys ("name+hash+base64") of the
	// witnesses whose cosignatures the caller can check; cosignatures of
	// other witnesses are counted, unchecked.
	Witnesses []string
	// MaxEntries, MaxFileSize and MaxTotalSize bound the ZIP: its number
	// of entries, each file's uncompressed size and their sum. Zero
	// means DefaultMaxEntries, DefaultMaxFileSize, DefaultMaxTotalSize.
	MaxEntries   int
	MaxFileSize  int64
	MaxTotalSize int64
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
	// ValidationTime is the time the bundle was validated at.
	ValidationTime time.Time `json:"validation_time"`
	// Timestamp is the manifest's signature time-stamp, the bundle's
	// latest: what needs renewal, and by when.
	Timestamp *Timestamp `json:"timestamp,omitempty"`
	// Checks are the steps, in order, each with its outcome.
	Checks []Check `json:"checks"`
	// Findings name every gap or contradiction found.
	Findings []Finding `json:"findings,omitempty"`
	// Documents are the PDF reports of the documents' final versions and
	// the certificate of completion, by bundle path.
	Documents map[string]*pades.Report `json:"documents,omitempty"`
}

// A Timestamp describes the manifest's signature time-stamp.
type Timestamp struct {
	// Time is its genTime: everything the manifest covers existed then.
	Time time.Time `json:"time"`
	// Authority is the time-stamp authority's certificate subject.
	Authority string `json:"authority"`
	// RenewalDue is the end of the authority's certificate chain: the
	// bundle must be time-stamped again before it.
	RenewalDue *time.Time `json:"renewal_due,omitempty"`
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
	// Indication is what the finding makes of the bundle: INVALID (a
	// contradiction) or INDETERMINATE (missing time or trust).
	Indication string `json:"indication"`
	// SubIndication is the ETSI EN 319 102-1 sub-indication that fits
	// the finding, if one does.
	SubIndication string `json:"sub_indication,omitempty"`
}

// Valid reports whether the bundle verified.
func (r *Report) Valid() bool { return r.Indication == Valid }

// Has reports whether the report has a finding with the given code.
func (r *Report) Has(code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

// ErrNotBundle means the input is not a ZIP file an evidence bundle could
// be (no manifest, or not a ZIP at all).
var ErrNotBundle = errors.New("evidence: not an evidence bundle")

// ErrLimit means the bundle exceeds the verifier's bounds (entries, sizes
// or compression ratio): it is refused unread.
var ErrLimit = errors.New("evidence: bundle exceeds the verifier's limits")

// Verify checks the bundle in r offline. It returns an error only when r
// cannot be read as a bundle (wrapping [ErrNotBundle]) or exceeds the
// bounds of opts (wrapping [ErrLimit]); everything else is in the report.
//
// It reads nothing but r: no network, no file, no account. The
// validation model is that of ETSI EN 319 102-1: the manifest's signature
// time-stamp is the bundle's latest and is validated at the validation
// time; the seal certificate and everything the manifest covers (the
// audit events, checkpoints and anchors) get proof of existence at its
// genTime and are validated at that time. The documents are validated by
// [pades.Verify] at the validation time.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	v := &verifier{opts: opts, r: r, now: now().UTC()}
	v.rep = &Report{ValidationTime: v.now, Checks: []Check{}}
	if err := v.open(size); err != nil {
		return nil, err
	}
	v.checkManifest()
	v.checkDocuments()
	v.checkAudit()
	v.checkStory()
	v.conclude()
	return v.rep, nil
}

// verifier holds the state of one verification.
type verifier struct {
	opts VerifyOptions
	r    io.ReaderAt
	now  time.Time
	rep  *Report

	files map[string]*zip.File
	order []string // entry names, in archive order
	sums  map[string]string

	manifest *Manifest
	// poe is the manifest time-stamp's genTime, zero when there is none
	// that verifies; what the manifest covers existed then.
	poe  time.Time
	env  *Envelope
	docs []*docState

	audit auditState
}

// check records a step.
func (v *verifier) check(name, status, detail string) {
	v.rep.Checks = append(v.rep.Checks, Check{Name: name, Status: status, Detail: detail})
}

// invalid records a contradiction.
func (v *verifier) invalid(code, path, format string, a ...any) {
	v.rep.Findings = append(v.rep.Findings, Finding{Code: code, Path: path, Detail: fmt.Sprintf(format, a...), Indication: Invalid})
}

// unsure records missing time or trust.
func (v *verifier) unsure(code, sub, path, format string, a ...any) {
	v.rep.Findings = append(v.rep.Findings, Finding{Code: code, Path: path, Detail: fmt.Sprintf(format, a...), Indication: Indeterminate, SubIndication: sub})
}

// conclude sets the indication from the findings: any contradiction makes
// the bundle INVALID, else any missing time or trust INDETERMINATE.
func (v *verifier) conclude() {
	v.rep.Indication = Valid
	var first *Finding
	for i := range v.rep.Findings {
		f := &v.rep.Findings[i]
		if f.Indication == Invalid {
			v.rep.Indication, first = Invalid, f
			break
		}
		if first == nil {
			v.rep.Indication, first = Indeterminate, f
		}
	}
	if first != nil {
		v.rep.SubIndication = first.SubIndication
		if v.rep.SubIndication == "" {
			v.rep.SubIndication = first.Code
		}
	}
}
