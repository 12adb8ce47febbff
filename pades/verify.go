package pades

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/tsa"
)

// Indications of ETSI EN 319 102-1 §5.1.3.
const (
	TotalPassed   = "TOTAL-PASSED"
	TotalFailed   = "TOTAL-FAILED"
	Indeterminate = "INDETERMINATE"
)

// Sub-indications used in reports. All but ModifiedAfterSigning are those of
// ETSI EN 319 102-1 §5.1.3; ModifiedAfterSigning is Signet's name for a later
// revision that changes what the signature covers in a way neither the
// signature's DocMDP permissions nor the PAdES rules allow.
const (
	FormatFailure           = "FORMAT_FAILURE"
	HashFailure             = "HASH_FAILURE"
	SigCryptoFailure        = "SIG_CRYPTO_FAILURE"
	NoCertificateChainFound = "NO_CERTIFICATE_CHAIN_FOUND"
	OutOfBoundsNoPOE        = "OUT_OF_BOUNDS_NO_POE"
	RevokedIndication       = "REVOKED"
	ChainConstraintsFailure = "CHAIN_CONSTRAINTS_FAILURE"
	SigConstraintsFailure   = "SIG_CONSTRAINTS_FAILURE"
	ModifiedAfterSigning    = "MODIFIED_AFTER_SIGNING"
	// RevokedNoPOE: a certificate was revoked at the validation time and
	// nothing proves that what it signed existed before the revocation.
	// Given when the latest time-stamp's authority was revoked.
	RevokedNoPOE = "REVOKED_NO_POE"
	// CryptoConstraintsFailureNoPOE: an algorithm is no longer reliable at
	// the validation time and nothing proves the signed data existed while
	// it was. Reserved for an algorithm policy with sunset dates: today
	// the algorithms Signet refuses (SHA-1) are refused at every time.
	CryptoConstraintsFailureNoPOE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
)

// Check statuses.
const (
	Passed             = "passed"
	Failed             = "failed"
	CheckIndeterminate = "indeterminate"
	NotChecked         = "not_checked"
)

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// Roots are the trust anchors. With none, no chain can be trusted and
	// every signature is at best INDETERMINATE.
	Roots *x509.CertPool
	// Now returns the validation time; nil means time.Now. The latest
	// time-stamp of the document is validated at it (ETSI EN 319 102-1);
	// so is every signature no time-stamp proves an earlier time for.
	Now func() time.Time
}

// Report is the result of validating every signature of a document. Its
// JSON form is documented in docs/VERIFY-JSON.md and is stable.
type Report struct {
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// Revisions is the number of cross-reference sections, oldest first.
	Revisions int `json:"revisions"`
	// Signatures are the signatures and document time-stamps, in the order
	// they were added.
	Signatures []*SignatureReport `json:"signatures"`
	// Valid is true when there is at least one signature and every one is
	// TOTAL-PASSED.
	Valid bool `json:"valid"`
	// Renewal is the state of the latest time-stamp, on which the proof
	// of every earlier signature and time-stamp rests; nil when the
	// document has no valid time-stamp.
	Renewal *Renewal `json:"renewal,omitempty"`
}

// Renewal describes the latest time-stamp of a document: the one validated
// at the validation time, which must be renewed by a newer archive
// time-stamp (a document time-stamp, [Archive]) before its authority's
// certificate chain expires or is revoked.
type Renewal struct {
	// Field is the field of the latest time-stamp: a document time-stamp,
	// or the signature whose signature time-stamp it is.
	Field string `json:"field"`
	// Time is the time-stamp's genTime.
	Time time.Time `json:"time"`
	// Authority is the subject of the time-stamp authority's certificate.
	Authority string `json:"authority"`
	// NotAfter is the date by which renewal is due: the earliest NotAfter
	// of the authority's certificate chain, or the time a certificate of
	// the chain was revoked (effective) if that is earlier.
	NotAfter time.Time `json:"not_after"`
	// Needed is true when the validation time is past NotAfter: the
	// signatures the time-stamp protects are INDETERMINATE until a newer
	// archive time-stamp is added, which only a copy renewed in time can
	// get.
	Needed bool `json:"needed"`
}

// CertInfo describes a certificate in a report.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	Email     []string  `json:"email,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// Warning names of [SignatureReport.Warnings].
const (
	// WarningFieldNotInForm: the signature's field is not reachable from
	// the AcroForm's /Fields array (or the document has no AcroForm); it was
	// found through a page's widget annotation. Viewers that list a form's
	// fields will not show the signature. The verdict is not affected: what
	// the signature covers is judged by its byte range, as for any other.
	WarningFieldNotInForm = "field-not-in-form"
)

// Warning is a finding about a signature's document structure that does
// not change its verdict.
type Warning struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Check is one validation step and its outcome.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// SignatureReport is the validation result of one signature or document
// time-stamp.
type SignatureReport struct {
	Field string `json:"field"`
	// Kind is "approval", "certification" or "document-timestamp".
	Kind      string  `json:"kind"`
	SubFilter string  `json:"sub_filter"`
	ByteRange []int64 `json:"byte_range"`
	// Revision is the 1-based number of the revision the signature closes.
	Revision int `json:"revision"`
	// CoversWholeFile reports whether the signed revision is the whole file.
	CoversWholeFile bool      `json:"covers_whole_file"`
	Signer          *CertInfo `json:"signer,omitempty"`
	// ClaimedTime is the /M entry: the signer's own, unproven claim.
	ClaimedTime *time.Time `json:"claimed_time,omitempty"`
	// TimestampTime is the genTime of a valid signature time-stamp (or of
	// the document time-stamp itself).
	TimestampTime      *time.Time `json:"timestamp_time,omitempty"`
	TimestampAuthority *CertInfo  `json:"timestamp_authority,omitempty"`
	DigestAlgorithm    string     `json:"digest_algorithm,omitempty"`
	SignatureAlgorithm string     `json:"signature_algorithm,omitempty"`
	// Level is the PAdES baseline level reached ("PAdES-B-B", "PAdES-B-T"),
	// or "none".
	Level string `json:"level"`
	// DocMDP is the certification permission P (1–3) of a certification
	// signature.
	DocMDP        int    `json:"docmdp,omitempty"`
	Indication    string `json:"indication"`
	SubIndication string `json:"sub_indication,omitempty"`
	// Verdict is "valid", "invalid" or "indeterminate".
	Verdict string `json:"verdict"`
	// Reason explains a verdict other than valid in one line.
	Reason string  `json:"reason,omitempty"`
	Checks []Check `json:"checks"`
	// PermittedChanges lists what later revisions changed within the rules.
	PermittedChanges []string `json:"permitted_changes,omitempty"`
	// Modifications lists what later revisions changed outside them.
	Modifications []string `json:"modifications,omitempty"`
	// Warnings are findings that do not change the verdict.
	Warnings []Warning `json:"warnings,omitempty"`

	failed, indeterminate []finding
	sd                    *cms.SignedData
	end                   int64
	tsTrusted             bool
	// chains to check for revocation, each with the time it must hold at.
	chains []timedChain
	// ltv is set when embedded data established the revocation status of
	// every certificate of every chain.
	ltv bool
	// tsCert is the authority certificate of the time-stamp (the document
	// time-stamp itself, or the signature time-stamp) and tsChain its
	// verified chain, nil when it did not chain to the trust anchors.
	tsCert  *x509.Certificate
	tsChain []*x509.Certificate
}

// timedChain is a verified chain and the time its validity was checked at.
type timedChain struct {
	chain []*x509.Certificate
	at    time.Time
	what  string
	// latest marks the chain of the document's latest time-stamp, whose
	// validity at the validation time [checkLatest] judges.
	latest bool
}

type finding struct{ sub, reason string }

func (s *SignatureReport) check(name, status, detail string) {
	s.Checks = append(s.Checks, Check{Name: name, Status: status, Detail: detail})
}

func (s *SignatureReport) fail(name, sub, reason string) {
	s.check(name, Failed, reason)
	s.failed = append(s.failed, finding{sub, reason})
}

func (s *SignatureReport) unsure(name, sub, reason string) {
	s.check(name, CheckIndeterminate, reason)
	s.indeterminate = append(s.indeterminate, finding{sub, reason})
}

// signatureField is a signed signature field.
type signatureField struct {
	name string
	sig  pdf.Dict
	br   []int64
	// outsideForm is, for a field the AcroForm's /Fields does not reach,
	// the 1-based page whose /Annots holds its widget; 0 otherwise.
	outsideForm int
}

// Verify validates every signature and document time-stamp of the PDF in
// src at the validation time opts.Now, following ETSI EN 319 102-1 (see
// the package documentation and docs/VERIFY-JSON.md, "Validation model").
// It returns an error only when the input cannot be read as a PDF;
// problems with signatures are reported in the Report.
func Verify(src io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r, err := pdf.Open(src, size)
	if err != nil {
		return nil, err
	}
	fields, err := signatureFields(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{Size: size, Revisions: len(r.Sections), Signatures: []*SignatureReport{}}
	for _, f := range fields {
		s := verifyOne(r, src, size, f, opts.Roots, now())
		rep.Signatures = append(rep.Signatures, s)
	}
	// A document time-stamp over a signature's revision is a time-stamp for
	// it too (B-T through a document time-stamp).
	for i, s := range rep.Signatures {
		if s.Kind == "document-timestamp" || s.TimestampTime != nil {
			continue
		}
		for _, t := range rep.Signatures[i+1:] {
			if t.Kind == "document-timestamp" && len(t.failed) == 0 && t.TimestampTime != nil {
				s.check("document-timestamp", Passed, "covered by the document time-stamp of revision "+fmt.Sprint(t.Revision))
				break
			}
		}
	}
	dss := readDSS(r)
	if dss == nil {
		dss = &ltv.Data{}
	}
	checkLatest(rep, dss, now())
	checkRevocation(src, rep, dss, now())
	analyseChanges(r, src, rep)
	rep.Valid = len(rep.Signatures) > 0
	for _, s := range rep.Signatures {
		s.conclude()
		if s.Indication != TotalPassed {
			rep.Valid = false
		}
	}
	return rep, nil
}

// conclude sets the indication and verdict from the findings.
func (s *SignatureReport) conclude() {
	switch {
	case len(s.failed) > 0:
		s.Indication, s.SubIndication, s.Verdict, s.Reason = TotalFailed, s.failed[0].sub, "invalid", s.failed[0].reason
	case len(s.indeterminate) > 0:
		s.Indication, s.SubIndication, s.Verdict, s.Reason = Indeterminate, s.indeterminate[0].sub, "indeterminate", s.indeterminate[0].reason
	default:
		s.Indication, s.Verdict = TotalPassed, "valid"
	}
	if s.Indication != TotalPassed && s.Level != "none" && len(s.failed) > 0 {
		s.Level = "none"
	}
}

// signatureFields finds the signed signature fields, oldest first: those
// of the AcroForm and those only a page's widget annotation reaches.
func signatureFields(r *pdf.Reader) ([]signatureField, error) {
	var out []signatureField
	var ferr error
	err := scanFields(r, func(f formField) {
		if f.dict.Name("FT") != "Sig" || f.dict["V"] == nil || ferr != nil {
			return
		}
		sig, err := r.Dict(f.dict["V"])
		if err != nil {
			ferr = err
			return
		}
		if sig == nil {
			return
		}
		sf := signatureField{name: f.name, sig: sig}
		if !f.inForm {
			sf.outsideForm = f.page
		}
		brObj, _ := r.Resolve(sig["ByteRange"])
		if a, ok := brObj.(pdf.Array); ok {
			for _, e := range a {
				if n, ok := e.(pdf.Integer); ok {
					sf.br = append(sf.br, int64(n))
				}
			}
		}
		out = append(out, sf)
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return end(out[i].br) < end(out[j].br) })
	return out, nil
}

func end(br []int64) int64 {
	if len(br) != 4 {
		return 0
	}
	return br[2] + br[3]
}

func verifyOne(r *pdf.Reader, src io.ReaderAt, size int64, f signatureField, roots *x509.CertPool, now time.Time) *SignatureReport {
	s := &SignatureReport{Field: f.name, Kind: "approval", SubFilter: string(f.sig.Name("SubFilter")), ByteRange: f.br, Level: "none", Checks: []Check{}}
	if f.sig.Name("Type") == "DocTimeStamp" || s.SubFilter == "ETSI.RFC3161" {
		s.Kind = "document-timestamp"
	} else if p := docMDPPermission(r, f.sig); p > 0 {
		s.Kind = "certification"
		s.DocMDP = p
	}
	if f.outsideForm > 0 {
		s.Warnings = append(s.Warnings, Warning{Name: WarningFieldNotInForm, Detail: fmt.Sprintf(
			"the signature field is not listed in the AcroForm /Fields; it was found through a widget annotation of page %d", f.outsideForm)})
	}
	if m, ok := f.sig["M"].(pdf.String); ok {
		if t, err := parseDate(string(m)); err == nil {
			s.ClaimedTime = &t
		}
	}
	contents, ok := checkByteRange(s, src, size, f)
	if !ok {
		return s
	}
	s.end = end(f.br)
	s.CoversWholeFile = s.end == size
	for i := len(r.Sections) - 1; i >= 0; i-- {
		if r.Sections[i].Offset < s.end {
			s.Revision++
		}
	}
	switch s.SubFilter {
	case "ETSI.RFC3161":
		verifyDocTimestamp(s, src, f.br, contents, roots)
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
		verifyCMS(s, src, f.br, contents, roots, now)
	default:
		s.fail("sub-filter", FormatFailure, fmt.Sprintf("unsupported /SubFilter %q", s.SubFilter))
	}
	return s
}

// checkByteRange checks that the byte range has the shape ISO 32000-1
// §12.8.1 requires: it starts at 0, leaves out exactly the /Contents hex
// string and ends at the end of a revision. It returns the decoded contents.
func checkByteRange(s *SignatureReport, src io.ReaderAt, size int64, f signatureField) ([]byte, bool) {
	br := f.br
	if len(br) != 4 || br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[3] < 0 || br[2]+br[3] > size {
		s.fail("byte-range", FormatFailure, fmt.Sprintf("malformed /ByteRange %v for a %d-byte file", br, size))
		return nil, false
	}
	gap := br[2] - br[1]
	if gap > 4<<20 {
		s.fail("byte-range", FormatFailure, "the /ByteRange gap is larger than any signature")
		return nil, false
	}
	raw := make([]byte, gap)
	if _, err := src.ReadAt(raw, br[1]); err != nil && err != io.EOF {
		s.fail("byte-range", FormatFailure, "cannot read the /Contents gap: "+err.Error())
		return nil, false
	}
	if raw[0] != '<' || raw[gap-1] != '>' {
		s.fail("byte-range", FormatFailure, "the /ByteRange gap is not exactly the /Contents hex string")
		return nil, false
	}
	body := raw[1 : gap-1]
	dec := make([]byte, hex.DecodedLen(len(body)))
	if len(body)%2 != 0 {
		s.fail("byte-range", FormatFailure, "the /Contents hex string has an odd length")
		return nil, false
	}
	if _, err := hex.Decode(dec, body); err != nil {
		s.fail("byte-range", FormatFailure, "the /ByteRange gap holds more than the /Contents hex string")
		return nil, false
	}
	if c, ok := f.sig["Contents"].(pdf.String); !ok || !bytes.Equal(c, dec) {
		s.fail("byte-range", FormatFailure, "the /ByteRange gap does not hold this signature's /Contents")
		return nil, false
	}
	if !endsRevision(src, br[2]+br[3]) {
		s.fail("byte-range", FormatFailure, fmt.Sprintf("the /ByteRange ends at %d, which is not the end of a revision", br[2]+br[3]))
		return nil, false
	}
	s.check("byte-range", Passed, fmt.Sprintf("covers bytes 0–%d except the /Contents value", br[2]+br[3]))
	return dec, true
}

// endsRevision reports whether off is just after a "%%EOF" marker (and its
// end-of-line), that is, the end of a revision.
func endsRevision(src io.ReaderAt, off int64) bool {
	n := min(off, 64)
	b := make([]byte, n)
	if _, err := src.ReadAt(b, off-n); err != nil && err != io.EOF {
		return false
	}
	b = bytes.TrimRight(b, "\r\n \t\x00")
	return bytes.HasSuffix(b, []byte("%%EOF"))
}

// hashRanges streams the two signed ranges through h.
func hashRanges(src io.ReaderAt, br []int64, h crypto.Hash) ([]byte, error) {
	hs := h.New()
	buf := make([]byte, copyBufferSize(br[1]+br[3]))
	if _, err := io.CopyBuffer(hs, io.NewSectionReader(src, br[0], br[1]), buf); err != nil {
		return nil, err
	}
	if _, err := io.CopyBuffer(hs, io.NewSectionReader(src, br[2], br[3]), buf); err != nil {
		return nil, err
	}
	return hs.Sum(nil), nil
}

// trimPadding returns the DER element at the start of b without the zero
// padding that fills the rest of a /Contents string.
func trimPadding(b []byte) []byte {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(b, &v); err != nil {
		return b
	}
	return v.FullBytes
}

func verifyCMS(s *SignatureReport, src io.ReaderAt, br []int64, contents []byte, roots *x509.CertPool, now time.Time) {
	sd, err := cms.Parse(contents)
	if err != nil {
		s.fail("cms-structure", FormatFailure, err.Error())
		return
	}
	s.sd = sd
	s.check("cms-structure", Passed, "")
	s.DigestAlgorithm = hashName(sd.DigestAlgorithm)
	s.SignatureAlgorithm = sd.SignatureAlgorithm.String()
	if signer, err := sd.SignerCertificate(); err == nil {
		s.Signer = certInfo(signer)
	}
	digest, err := hashRanges(src, br, sd.DigestAlgorithm)
	if err != nil {
		s.fail("message-digest", FormatFailure, "reading the signed ranges: "+err.Error())
		return
	}
	signer, err := sd.Verify(digest)
	etsi := s.SubFilter == "ETSI.CAdES.detached"
	switch {
	case err == nil:
		s.check("message-digest", Passed, "")
		s.check("signature-value", Passed, "")
		s.check("signing-certificate", Passed, "")
	case errors.Is(err, cms.ErrDigestMismatch):
		s.fail("message-digest", HashFailure, "the signed bytes do not match the signature's message digest: the document was changed")
		return
	case errors.Is(err, cms.ErrSignature), errors.Is(err, cms.ErrContentType):
		s.check("message-digest", Passed, "")
		s.fail("signature-value", SigCryptoFailure, err.Error())
		return
	case errors.Is(err, cms.ErrNoSigningCertificate) && !etsi:
		s.check("message-digest", Passed, "")
		s.check("signature-value", Passed, "")
		s.check("signing-certificate", NotChecked, "adbe.pkcs7.detached signatures need not carry it")
		signer, err = sd.SignerCertificate()
		if err != nil {
			s.fail("signing-certificate", FormatFailure, err.Error())
			return
		}
	case errors.Is(err, cms.ErrNoSigningCertificate), errors.Is(err, cms.ErrSigningCertificate):
		s.check("message-digest", Passed, "")
		s.check("signature-value", Passed, "")
		s.fail("signing-certificate", FormatFailure, err.Error())
		return
	default:
		s.fail("signature-value", FormatFailure, err.Error())
		return
	}
	s.Signer = certInfo(signer)
	baseline := etsi
	if etsi {
		if _, ok := sd.SignedAttribute(cms.OIDSigningTime); ok {
			s.check("no-signing-time", Failed, "the CMS carries a signing-time attribute, which PAdES baseline forbids")
			baseline = false
		} else {
			s.check("no-signing-time", Passed, "")
		}
	}

	// Signature time-stamp (unsigned attribute, RFC 3161 Appendix A).
	valTime := now
	hasTS := false
	if tokDER := sd.TimestampToken(); tokDER != nil {
		tok, tsaCert, trusted, ok := checkToken(s, "signature-timestamp", tokDER, sd.Signature(), roots)
		if ok {
			t := tok.Info.Time
			s.TimestampTime = &t
			s.TimestampAuthority = certInfo(tsaCert)
			s.tsCert = tsaCert
			hasTS = true
			if trusted {
				valTime = t
				s.tsTrusted = true
			}
		}
	}
	checkChain(s, signer, sd.Certificates, roots, valTime, s.tsTrusted)
	if signer.KeyUsage != 0 && signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		s.unsure("key-usage", SigConstraintsFailure, "the signer certificate's key usage does not allow signatures")
	} else {
		s.check("key-usage", Passed, "")
	}
	switch {
	case baseline && hasTS && len(s.failed) == 0:
		s.Level = "PAdES-B-T"
	case baseline && len(s.failed) == 0:
		s.Level = "PAdES-B-B"
	}
}

// checkToken validates an RFC 3161 token whose imprint must be the digest
// of data. It reports whether the token is valid and whether its TSA chains
// to the trust anchors.
func checkToken(s *SignatureReport, name string, der, data []byte, roots *x509.CertPool) (*tsa.Token, *x509.Certificate, bool, bool) {
	tok, err := tsa.ParseToken(der)
	if err != nil {
		s.fail(name, FormatFailure, "time-stamp token: "+err.Error())
		return nil, nil, false, false
	}
	hs := tok.Info.Hash.New()
	hs.Write(data)
	if err := tok.CheckImprint(tok.Info.Hash, hs.Sum(nil)); err != nil {
		s.fail(name, HashFailure, "the time-stamp does not cover this signature: its message imprint differs")
		return nil, nil, false, false
	}
	cert, _, err := tok.Verify(tsa.VerifyOptions{})
	if err != nil {
		s.fail(name, SigCryptoFailure, "time-stamp token: "+err.Error())
		return nil, nil, false, false
	}
	if roots == nil {
		s.unsure(name, NoCertificateChainFound, "no trust anchors given: the time-stamp authority cannot be trusted")
		return tok, cert, false, true
	}
	_, chains, err := tok.Verify(tsa.VerifyOptions{Roots: roots, Intermediates: pool(tok.SignedData.Certificates)})
	if err != nil {
		s.unsure(name, NoCertificateChainFound, "time-stamp authority "+cert.Subject.String()+" is not trusted: "+oneLine(err))
		return tok, cert, false, true
	}
	s.chains = append(s.chains, timedChain{chain: chains[0], at: tok.Info.Time, what: "time-stamp authority"})
	s.tsChain = chains[0]
	s.check(name, Passed, fmt.Sprintf("%s by %s", tok.Info.Time.UTC().Format(time.RFC3339), cert.Subject.String()))
	return tok, cert, true, true
}

func verifyDocTimestamp(s *SignatureReport, src io.ReaderAt, br []int64, contents []byte, roots *x509.CertPool) {
	tok, err := tsa.ParseToken(trimPadding(contents))
	if err != nil {
		s.fail("timestamp-token", FormatFailure, err.Error())
		return
	}
	s.sd = tok.SignedData
	s.DigestAlgorithm = hashName(tok.Info.Hash)
	s.SignatureAlgorithm = tok.SignedData.SignatureAlgorithm.String()
	digest, err := hashRanges(src, br, tok.Info.Hash)
	if err != nil {
		s.fail("message-imprint", FormatFailure, err.Error())
		return
	}
	if err := tok.CheckImprint(tok.Info.Hash, digest); err != nil {
		s.fail("message-imprint", HashFailure, "the document time-stamp's imprint does not match the signed bytes: the document was changed")
		return
	}
	s.check("message-imprint", Passed, "")
	cert, _, err := tok.Verify(tsa.VerifyOptions{})
	if err != nil {
		s.fail("timestamp-signature", SigCryptoFailure, err.Error())
		return
	}
	s.check("timestamp-signature", Passed, "")
	t := tok.Info.Time
	s.TimestampTime = &t
	s.Signer = certInfo(cert)
	s.TimestampAuthority = certInfo(cert)
	s.tsCert = cert
	checkChain(s, cert, tok.SignedData.Certificates, roots, t, true)
}

// checkChain builds a chain from cert to roots at time at.
func checkChain(s *SignatureReport, cert *x509.Certificate, certs []*x509.Certificate, roots *x509.CertPool, at time.Time, proven bool) {
	if roots == nil {
		s.unsure("certificate-chain", NoCertificateChainFound, "no trust anchors given (--trust): the signer's identity cannot be trusted")
		return
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool(certs),
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		what := "signer"
		if s.Kind == "document-timestamp" {
			what = "time-stamp authority"
			s.tsChain = chains[0]
		}
		s.chains = append(s.chains, timedChain{chain: chains[0], at: at, what: what})
	}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case err == nil:
		s.check("certificate-chain", Passed, "trusted at "+at.UTC().Format(time.RFC3339))
	case errors.As(err, &ua):
		s.unsure("certificate-chain", NoCertificateChainFound, "the certificate chain ends at an untrusted root ("+rootName(cert, certs)+")")
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		what := "the validation time"
		if proven {
			what = "the time-stamped time"
		}
		s.unsure("certificate-chain", OutOfBoundsNoPOE, fmt.Sprintf("a certificate of the chain is not valid at %s (%s)", what, at.UTC().Format(time.RFC3339)))
	default:
		s.unsure("certificate-chain", ChainConstraintsFailure, oneLine(err))
	}
}

// rootName names the top of the chain the document carries.
func rootName(cert *x509.Certificate, certs []*x509.Certificate) string {
	cur := cert
	for range 16 {
		next := (*x509.Certificate)(nil)
		for _, c := range certs {
			if bytes.Equal(c.RawSubject, cur.RawIssuer) && !bytes.Equal(c.Raw, cur.Raw) {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		cur = next
	}
	if bytes.Equal(cur.RawSubject, cur.RawIssuer) {
		return cur.Subject.String()
	}
	return cur.Issuer.String()
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func certInfo(c *x509.Certificate) *CertInfo {
	if c == nil {
		return nil
	}
	return &CertInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		Email: c.EmailAddresses, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA-1"
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	}
	return h.String()
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// parseDate parses a PDF date string (§7.9.4), e.g. D:20250101120000+01'00'.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 4 {
		return time.Time{}, fmt.Errorf("pades: bad date")
	}
	layout := "20060102150405"
	n := min(len(s), 14)
	for n > 4 && n%2 != 0 {
		n--
	}
	t, err := time.Parse(layout[:n], s[:n])
	if err != nil {
		return time.Time{}, err
	}
	rest := strings.ReplaceAll(s[n:], "'", "")
	if len(rest) >= 3 && (rest[0] == '+' || rest[0] == '-') {
		var hh, mm int
		fmt.Sscanf(rest[1:], "%02d%02d", &hh, &mm)
		off := hh*3600 + mm*60
		if rest[0] == '-' {
			off = -off
		}
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone("", off))
	}
	return t, nil
}

func normalizeLevel(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "PADES-")
}
