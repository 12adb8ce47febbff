package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/signet-pki/signet/pades"
)

// docState is what the story needs of a verified final document: its
// report and the SHA-256 of the revision each signature closes.
type docState struct {
	id     string
	report *pades.Report
	// revision[i] is the hex SHA-256 of the file up to the end of
	// report.Signatures[i]'s byte range: the version it signed.
	revision []string
	// originalSize is the size of original.pdf: signatures that end
	// within it were there before the envelope.
	originalSize int64
}

// checkDocuments reads envelope.json and verifies every document and the
// certificate of completion.
func (v *verifier) checkDocuments() {
	raw, ok := v.read(PathEnvelope, maxSmallFile)
	if !ok {
		v.invalid("envelope-missing", PathEnvelope, "the bundle has no readable envelope record")
		v.check("envelope", pades.Failed, "missing")
		return
	}
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		v.invalid("envelope-malformed", PathEnvelope, "the envelope record is not valid: %v", err)
		v.check("envelope", pades.Failed, "malformed")
		return
	}
	v.env = &env
	if m := v.manifest; m != nil && (env.ID != m.EnvelopeID || env.Tenant != m.Tenant) {
		v.invalid("manifest-envelope", PathEnvelope, "the envelope record is of envelope %q of tenant %q; the manifest names envelope %q of tenant %q", env.ID, env.Tenant, m.EnvelopeID, m.Tenant)
	}
	v.check("envelope", pades.Passed, fmt.Sprintf("envelope %s (%s), %d document(s), %d recipient(s)", env.ID, env.Status, len(env.Documents), len(env.Recipients)))
	v.rep.Documents = map[string]*pades.Report{}
	expected := map[string]bool{}
	for _, d := range env.Documents {
		if d.ID == "" || strings.ContainsAny(d.ID, "/\\") || checkPath(PathDocuments+d.ID) != nil || expected[PathDocuments+d.ID+"/final.pdf"] {
			v.invalid("envelope-malformed", PathEnvelope, "document id %s is empty, repeated or not a plain name", printable(d.ID))
			continue
		}
		orig, final := PathDocuments+d.ID+"/original.pdf", PathDocuments+d.ID+"/final.pdf"
		expected[orig], expected[final] = true, true
		v.checkDocument(d, orig, final)
	}
	for _, name := range v.order {
		if strings.HasPrefix(name, PathDocuments) && !expected[name] {
			v.invalid("document-unlisted", name, "%s is not a document of the envelope record", name)
		}
	}
	if v.files[PathCertificate] == nil {
		v.invalid("certificate-missing", PathCertificate, "the bundle has no certificate of completion")
		v.check("certificate-of-completion", pades.Failed, "missing")
		return
	}
	if rep := v.verifyPDF(PathCertificate, "certificate-of-completion"); rep != nil {
		v.rep.Documents[PathCertificate] = rep
	}
}

// checkDocument checks one document's versions against the envelope
// record and verifies its final version.
func (v *verifier) checkDocument(d Document, orig, final string) {
	name := "document " + d.ID
	missing := false
	for _, p := range []string{orig, final} {
		if v.files[p] == nil {
			v.invalid("document-missing", p, "document %s has no %s in the bundle", d.ID, p)
			missing = true
		}
	}
	if missing {
		v.check(name, pades.Failed, "missing")
		return
	}
	if s := v.sums[orig]; !strings.EqualFold(s, d.OriginalSHA256) {
		v.invalid("document-hash", orig, "the original of document %s has SHA-256 %s; the envelope record says %s", d.ID, s, d.OriginalSHA256)
	}
	if s := v.sums[final]; !strings.EqualFold(s, d.FinalSHA256) {
		v.invalid("document-hash", final, "the final version of document %s has SHA-256 %s; the envelope record says %s", d.ID, s, d.FinalSHA256)
	}
	or, osize, err := v.section(orig)
	if err != nil {
		v.invalid("archive-unreadable", orig, "%v", err)
		return
	}
	fr, fsize, err := v.section(final)
	if err != nil {
		v.invalid("archive-unreadable", final, "%v", err)
		return
	}
	if same, err := isPrefix(or, osize, fr, fsize); err != nil || !same {
		v.invalid("document-not-prefix", final, "the final version of document %s does not begin with its original: it was not made by incremental updates of what was uploaded", d.ID)
	}
	rep := v.verifyPDF(final, name)
	if rep == nil {
		return
	}
	v.rep.Documents[final] = rep
	revs, err := revisionHashes(fr, fsize, rep)
	if err != nil {
		v.invalid("archive-unreadable", final, "%v", err)
		return
	}
	v.docs = append(v.docs, &docState{id: d.ID, report: rep, revision: revs, originalSize: osize})
}

// verifyPDF verifies a PDF of the bundle with pades.Verify at the
// validation time and records the outcome as check name.
func (v *verifier) verifyPDF(path, name string) *pades.Report {
	sr, size, err := v.section(path)
	if err != nil {
		v.invalid("archive-unreadable", path, "%v", err)
		v.check(name, pades.Failed, "unreadable")
		return nil
	}
	now := v.now
	rep, err := pades.Verify(sr, size, pades.VerifyOptions{Roots: v.opts.Roots, Now: func() time.Time { return now }})
	if err != nil {
		v.invalid("document-malformed", path, "%s is not a readable PDF: %v", path, err)
		v.check(name, pades.Failed, "not a PDF")
		return nil
	}
	if len(rep.Signatures) == 0 {
		v.invalid("document-unsigned", path, "%s has no signature", path)
		v.check(name, pades.Failed, "no signature")
		return rep
	}
	var failed, unsure *pades.SignatureReport
	for _, s := range rep.Signatures {
		switch {
		case s.Indication == pades.TotalFailed && failed == nil:
			failed = s
		case s.Indication != pades.TotalPassed && unsure == nil:
			unsure = s
		}
	}
	last := rep.Signatures[len(rep.Signatures)-1]
	switch {
	case failed != nil:
		v.invalid("document-signature", path, "signature %q of %s is invalid (%s): %s", failed.Field, path, failed.SubIndication, failed.Reason)
		v.check(name, pades.Failed, fmt.Sprintf("signature %q: %s/%s", failed.Field, failed.Indication, failed.SubIndication))
	case unsure != nil:
		v.unsure("document-indeterminate", unsure.SubIndication, path, "signature %q of %s is indeterminate (%s): %s", unsure.Field, path, unsure.SubIndication, unsure.Reason)
		v.check(name, pades.CheckIndeterminate, fmt.Sprintf("signature %q: %s/%s", unsure.Field, unsure.Indication, unsure.SubIndication))
	case !last.CoversWholeFile:
		// pades judges later revisions; say plainly that the last
		// signature does not cover the end of the file.
		v.check(name, pades.Passed, fmt.Sprintf("%d signature(s) valid; bytes after the last one were judged by their changes", len(rep.Signatures)))
	default:
		v.check(name, pades.Passed, fmt.Sprintf("%d signature(s) valid, the last (%s) covers the whole file", len(rep.Signatures), last.Kind))
	}
	return rep
}

// isPrefix reports whether a (asize bytes) is the beginning of b.
func isPrefix(a io.ReaderAt, asize int64, b io.ReaderAt, bsize int64) (bool, error) {
	if asize > bsize {
		return false, nil
	}
	const chunk = 64 << 10
	x, y := make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); off < asize; off += chunk {
		n := min(chunk, asize-off)
		if _, err := a.ReadAt(x[:n], off); err != nil && err != io.EOF {
			return false, err
		}
		if _, err := b.ReadAt(y[:n], off); err != nil && err != io.EOF {
			return false, err
		}
		if !bytes.Equal(x[:n], y[:n]) {
			return false, nil
		}
	}
	return true, nil
}

// revisionHashes hashes the file once, taking the SHA-256 of each prefix
// that ends where a signature's byte range ends.
func revisionHashes(r io.ReaderAt, size int64, rep *pades.Report) ([]string, error) {
	out := make([]string, len(rep.Signatures))
	type cut struct {
		end int64
		i   int
	}
	var cuts []cut
	for i, s := range rep.Signatures {
		if len(s.ByteRange) == 4 {
			if e := s.ByteRange[2] + s.ByteRange[3]; e > 0 && e <= size {
				cuts = append(cuts, cut{e, i})
			}
		}
	}
	sort.Slice(cuts, func(a, b int) bool { return cuts[a].end < cuts[b].end })
	h := sha256.New()
	var pos int64
	buf := make([]byte, 64<<10)
	for _, c := range cuts {
		if c.end > pos {
			if _, err := io.CopyBuffer(h, io.NewSectionReader(r, pos, c.end-pos), buf); err != nil {
				return nil, err
			}
			pos = c.end
		}
		out[c.i] = fmt.Sprintf("%x", h.Sum(nil))
	}
	return out, nil
}
