package evidence

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// checkManifest checks the manifest's signature and time-stamp, the seal
// certificate, and that the manifest lists exactly the bundle's files.
func (v *verifier) checkManifest() {
	raw, ok := v.read(PathManifest, maxManifest)
	if !ok {
		v.invalid("manifest-malformed", PathManifest, "the manifest cannot be read or is larger than %d bytes", maxManifest)
		v.check("manifest", pades.Failed, "unreadable")
		return
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != Format {
		if err == nil {
			err = fmt.Errorf("format %q, want %q", m.Format, Format)
		}
		v.invalid("manifest-malformed", PathManifest, "the manifest is not a %s manifest: %v", Format, err)
		v.check("manifest", pades.Failed, "malformed")
		return
	}
	v.manifest = &m
	v.rep.EnvelopeID, v.rep.Tenant = m.EnvelopeID, m.Tenant
	v.checkManifestSignature(raw)
	v.checkFiles()
}

// checkManifestSignature verifies manifest.p7s over raw, its signature
// time-stamp (validated at the validation time: it is the bundle's latest)
// and the seal certificate (validated at the time-stamp's time).
func (v *verifier) checkManifestSignature(raw []byte) {
	p7s, ok := v.read(PathManifestSignature, maxSmallFile)
	if !ok {
		v.invalid("manifest-signature", PathManifestSignature, "the bundle has no readable manifest signature")
		v.check("manifest-signature", pades.Failed, "missing")
		return
	}
	sd, err := cms.Parse(p7s)
	if err != nil {
		v.invalid("manifest-signature", PathManifestSignature, "the manifest signature is not a CMS SignedData: %v", err)
		v.check("manifest-signature", pades.Failed, "malformed")
		return
	}
	h := sd.DigestAlgorithm
	if !h.Available() || h == crypto.SHA1 || h == crypto.MD5 {
		v.invalid("manifest-signature", PathManifestSignature, "the manifest signature uses the digest %v, which is not accepted", h)
		v.check("manifest-signature", pades.Failed, "digest algorithm")
		return
	}
	d := h.New()
	d.Write(raw)
	signer, err := sd.Verify(d.Sum(nil))
	if err != nil {
		if errors.Is(err, cms.ErrDigestMismatch) {
			v.invalid("manifest-signature", PathManifest, "the manifest was changed after it was signed: its digest does not match the signature's")
		} else {
			v.invalid("manifest-signature", PathManifestSignature, "the manifest signature does not verify: %v", err)
		}
		v.check("manifest-signature", pades.Failed, "")
		return
	}
	v.check("manifest-signature", pades.Passed, "signed by "+signer.Subject.String())
	if signer.KeyUsage != 0 && signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		v.invalid("seal-certificate", PathManifestSignature, "the seal certificate's key usage does not allow signatures")
	}
	v.checkManifestTimestamp(sd)
	at := v.poe
	if at.IsZero() {
		at = v.now
	}
	v.checkSealChain(signer, sd.Certificates, at)
	if v.poe.IsZero() {
		return
	}
	if m := v.manifest; m.Created.After(v.poe.Add(ClockTolerance)) {
		v.invalid("manifest-time", PathManifest, "the manifest claims to be made at %s, after its time-stamp (%s)", stamp(m.Created), stamp(v.poe))
	}
}

// checkManifestTimestamp checks the signature time-stamp token of sd and
// sets v.poe.
func (v *verifier) checkManifestTimestamp(sd *cms.SignedData) {
	const name = "manifest-timestamp"
	der := sd.TimestampToken()
	if der == nil {
		v.unsure("manifest-timestamp-missing", pades.OutOfBoundsNoPOE, PathManifestSignature, "the manifest signature has no time-stamp: nothing in the bundle is proven to have existed at any time")
		v.check(name, pades.CheckIndeterminate, "missing")
		return
	}
	tok, err := tsa.ParseToken(der)
	if err != nil {
		v.invalid(name, PathManifestSignature, "the manifest's time-stamp token is malformed: %v", err)
		v.check(name, pades.Failed, "malformed")
		return
	}
	hs := tok.Info.Hash.New()
	hs.Write(sd.Signature())
	if err := tok.CheckImprint(tok.Info.Hash, hs.Sum(nil)); err != nil {
		v.invalid(name, PathManifestSignature, "the manifest's time-stamp does not cover its signature value")
		v.check(name, pades.Failed, "imprint")
		return
	}
	cert, _, err := tok.Verify(tsa.VerifyOptions{})
	if err != nil {
		v.invalid(name, PathManifestSignature, "the manifest's time-stamp token does not verify: %v", err)
		v.check(name, pades.Failed, "signature")
		return
	}
	gen := tok.Info.Time.UTC()
	ts := &Timestamp{Time: gen, Authority: cert.Subject.String()}
	v.rep.Timestamp = ts
	if v.opts.Roots == nil {
		v.unsure("manifest-timestamp-untrusted", pades.NoCertificateChainFound, PathManifestSignature, "no trust anchors given: the time-stamp authority %s cannot be trusted", cert.Subject)
		v.check(name, pades.CheckIndeterminate, "no trust anchors")
		return
	}
	// The chain as it was at genTime tells when it ends, hence by when the
	// bundle needed a new time-stamp.
	vo := tsa.VerifyOptions{Roots: v.opts.Roots, Intermediates: pool(sd.Certificates)}
	_, chains, err := tok.Verify(vo)
	if err != nil {
		v.unsure("manifest-timestamp-untrusted", pades.NoCertificateChainFound, PathManifestSignature, "the time-stamp authority %s is not trusted: %s", cert.Subject, oneLine(err))
		v.check(name, pades.CheckIndeterminate, "untrusted authority")
		return
	}
	due := chainEnd(chains[0])
	ts.RenewalDue = &due
	if gen.After(v.now.Add(ClockTolerance)) {
		v.unsure("manifest-timestamp-future", pades.OutOfBoundsNoPOE, PathManifestSignature, "the manifest's time-stamp (%s) is later than the validation time (%s)", stamp(gen), stamp(v.now))
		v.check(name, pades.CheckIndeterminate, "after the validation time")
		return
	}
	// The latest time-stamp is validated at the validation time.
	vo.CurrentTime = v.now
	if _, _, err := tok.Verify(vo); err != nil {
		var ci x509.CertificateInvalidError
		if errors.As(err, &ci) && ci.Reason == x509.Expired {
			v.unsure("manifest-timestamp-expired", pades.OutOfBoundsNoPOE, PathManifestSignature,
				"the certificate chain of the manifest's time-stamp authority %s ended on %s, before the validation time %s, and no later time-stamp renews it: the bundle needed a new time-stamp by %s",
				cert.Subject, stamp(due), stamp(v.now), due.Format("2006-01-02"))
		} else {
			v.unsure("manifest-timestamp-untrusted", pades.ChainConstraintsFailure, PathManifestSignature, "the manifest's time-stamp authority is not valid at %s: %s", stamp(v.now), oneLine(err))
		}
		v.check(name, pades.CheckIndeterminate, "not valid at the validation time")
		return
	}
	v.poe = gen
	v.check(name, pades.Passed, fmt.Sprintf("%s by %s, valid at %s; renew by %s (revocation of the authority not checked offline)",
		stamp(gen), cert.Subject, stamp(v.now), due.Format("2006-01-02")))
}

// checkSealChain validates the seal certificate's chain at time at.
func (v *verifier) checkSealChain(signer *x509.Certificate, certs []*x509.Certificate, at time.Time) {
	const name = "seal-certificate"
	if v.opts.Roots == nil {
		v.unsure(name, pades.NoCertificateChainFound, PathManifestSignature, "no trust anchors given: the seal certificate %s cannot be trusted", signer.Subject)
		v.check(name, pades.CheckIndeterminate, "no trust anchors")
		return
	}
	_, err := signer.Verify(x509.VerifyOptions{Roots: v.opts.Roots, Intermediates: pool(certs), CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		v.unsure(name, pades.NoCertificateChainFound, PathManifestSignature, "the seal certificate %s does not chain to a trusted root at %s: %s", signer.Subject, stamp(at), oneLine(err))
		v.check(name, pades.CheckIndeterminate, "")
		return
	}
	what := "the validation time"
	if !v.poe.IsZero() {
		what = "the manifest's time-stamp"
	}
	v.check(name, pades.Passed, fmt.Sprintf("%s, trusted at %s (%s)", signer.Subject, stamp(at), what))
}

// checkFiles compares the ZIP's files with the manifest's list.
func (v *verifier) checkFiles() {
	m := v.manifest
	listed := make(map[string]bool, len(m.Files))
	bad := 0
	for _, e := range m.Files {
		switch {
		case listed[e.Path]:
			v.invalid("manifest-duplicate", e.Path, "the manifest lists %s twice", e.Path)
			bad++
			continue
		case e.Path == PathManifest || e.Path == PathManifestSignature:
			v.invalid("manifest-malformed", e.Path, "the manifest lists itself or its signature")
			bad++
			continue
		}
		listed[e.Path] = true
		sum, ok := v.sums[e.Path]
		f := v.files[e.Path]
		switch {
		case f == nil:
			v.invalid("file-missing", e.Path, "the manifest lists %s, which the bundle does not hold", e.Path)
			bad++
		case !ok:
			bad++ // unreadable: already named
		case !strings.EqualFold(sum, e.SHA256) || int64(f.UncompressedSize64) != e.Size:
			v.invalid("file-modified", e.Path, "%s has SHA-256 %s and %d bytes; the manifest says %s and %d bytes", e.Path, sum, f.UncompressedSize64, e.SHA256, e.Size)
			bad++
		}
	}
	for _, name := range v.order {
		if !listed[name] && name != PathManifest && name != PathManifestSignature {
			v.invalid("file-unlisted", name, "%s is in the bundle but not in the manifest", name)
			bad++
		}
	}
	if bad > 0 {
		v.check("manifest-files", pades.Failed, fmt.Sprintf("%d of %d files do not match the manifest", bad, len(m.Files)))
		return
	}
	v.check("manifest-files", pades.Passed, fmt.Sprintf("%d files, each with the SHA-256 and size the manifest lists", len(m.Files)))
}

// chainEnd returns the earliest end of validity in chain.
func chainEnd(chain []*x509.Certificate) time.Time {
	var end time.Time
	for _, c := range chain {
		if end.IsZero() || c.NotAfter.Before(end) {
			end = c.NotAfter
		}
	}
	return end.UTC()
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
