package pades

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/tsa"
)

// Level is a PAdES baseline level (ETSI EN 319 142-1 §6).
type Level string

// The PAdES baseline levels.
const (
	LevelBB   Level = "B-B"
	LevelBT   Level = "B-T"
	LevelBLT  Level = "B-LT"
	LevelBLTA Level = "B-LTA"
)

// ParseLevel parses "B-B", "B-T", "B-LT" or "B-LTA" (case-insensitive,
// with or without the "PAdES-" prefix).
func ParseLevel(s string) (Level, error) {
	switch normalizeLevel(s) {
	case "B-B":
		return LevelBB, nil
	case "B-T":
		return LevelBT, nil
	case "B-LT":
		return LevelBLT, nil
	case "B-LTA":
		return LevelBLTA, nil
	}
	return "", fmt.Errorf("pades: unknown level %q (want B-B, B-T, B-LT or B-LTA)", s)
}

// Errors that callers branch on.
var (
	// ErrCertified means the document is certified with DocMDP P=1: no
	// change, not even another signature, is permitted.
	ErrCertified = errors.New("pades: document is certified with no changes permitted (DocMDP P=1)")
	// ErrAlreadySigned means a certification signature was requested for a
	// document that already holds signatures; it must be the first.
	ErrAlreadySigned = errors.New("pades: a certification signature must be the first signature of the document")
	// ErrCertificateExpired means the signer certificate is not valid at the
	// signing time.
	ErrCertificateExpired = errors.New("pades: signer certificate is not valid at the signing time")
	// ErrContentsTooSmall means the CMS did not fit the reserved /Contents.
	ErrContentsTooSmall = errors.New("pades: signature does not fit the reserved /Contents space")
	// ErrNoTimestamp means level B-T or higher was requested without a
	// time-stamp authority.
	ErrNoTimestamp = errors.New("pades: level B-T needs a time-stamp authority (--tsa)")
)

// A Timestamper obtains RFC 3161 time-stamp tokens over a digest. It MUST
// return an error, never a token with an unverified or invented time, when
// no authority answers correctly. *tsa.Client implements it.
type Timestamper interface {
	Timestamp(ctx context.Context, h crypto.Hash, digest []byte) (*tsa.Token, error)
}

// Visible places a visible signature appearance on a page.
type Visible struct {
	// Page is the 1-based page number.
	Page int
	// Rect is the lower-left x, y and the width and height, in points.
	X, Y, W, H float64
}

// A Widget is a filled field shown on a page as part of a signature: a
// drawn or typed signature, initials, a date or a text. The widgets of one
// signature are the visible widgets of its signature field, added in the
// same revision as the signature, so the signature covers them and later
// signatures keep them.
type Widget struct {
	// Page is the 1-based page number.
	Page int
	// X, Y, W and H are the lower-left corner, width and height of the
	// box in points, in the page's default user space. On a page shown
	// rotated (/Rotate) the box turns with the page and its content is
	// drawn upright as the page is shown.
	X, Y, W, H float64
	// Text is typed text drawn in the box, scaled to fit on one line
	// (WinAnsi; characters outside it are replaced).
	Text string
	// Script draws Text in an italic serif face, as a typed signature.
	Script bool
	// Strokes is a drawing: polylines whose points are fractions of the
	// box (0..1), measured from its top-left corner as drawn on screen.
	// A drawing replaces Text.
	Strokes [][]Point
}

// A Point is a position in a [Widget]'s box as fractions of its width
// (X, from the left) and height (Y, from the top).
type Point struct{ X, Y float64 }

// Options configures [Sign].
type Options struct {
	// Signer is the signing key; Certificates[0] is its certificate and the
	// rest its chain, embedded in the CMS.
	Signer       crypto.Signer
	Certificates []*x509.Certificate
	// Hash is the digest algorithm: SHA-256 (default), SHA-384 or SHA-512.
	Hash crypto.Hash
	// PSS selects RSASSA-PSS for RSA keys (PKCS#1 v1.5 otherwise).
	PSS bool
	// Level is B-B (default), B-T, B-LT or B-LTA. B-T and above require
	// Timestamper; B-LT and B-LTA also Fetcher, and a dst that is a [File].
	Level Level
	// Timestamper provides the signature time-stamp at level B-T and above,
	// and the document time-stamp at B-LTA unless ArchiveTimestamper is set.
	Timestamper Timestamper
	// ArchiveTimestamper, if set, provides the document time-stamp of
	// B-LTA: the latest time-stamp of the document, validated at every
	// later validation time, so best from an authority whose certificate
	// outlives the signature time-stamps' (see [Verify]). nil means
	// Timestamper.
	ArchiveTimestamper Timestamper
	// Fetcher gathers validation data at levels B-LT and B-LTA.
	Fetcher ValidationFetcher
	// Certify, when 1, 2 or 3, makes a certification signature with DocMDP
	// permissions P (§12.8.2.2); zero makes an approval signature.
	Certify int
	// Name, Reason, Location and ContactInfo fill the signature dictionary.
	Name, Reason, Location, ContactInfo string
	// Time is the claimed signing time written to /M; zero means now.
	Time time.Time
	// Visible, if set, gives the signature a visible text appearance.
	Visible *Visible
	// Widgets, if any, are the filled fields shown with this signature:
	// the widgets of its signature field, in its own revision (at most
	// [MaxWidgets], each inside its page). They replace Visible; setting
	// both is an error.
	Widgets []Widget
	// FieldName names the new signature field; empty picks "SignatureN".
	FieldName string
	// ContentsSize is the capacity reserved for the CMS in bytes; zero
	// estimates it from the certificates and level.
	ContentsSize int
}

func (o *Options) hash() crypto.Hash {
	if o.Hash == 0 {
		return crypto.SHA256
	}
	return o.Hash
}

func (o *Options) validate(now time.Time) error {
	if o.Signer == nil || len(o.Certificates) == 0 {
		return errors.New("pades: a signer and its certificate are required")
	}
	switch o.hash() {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return fmt.Errorf("pades: unsupported digest algorithm %v", o.hash())
	}
	switch o.Level {
	case "", LevelBB:
	case LevelBT, LevelBLT, LevelBLTA:
		if o.Timestamper == nil {
			return ErrNoTimestamp
		}
		if o.Level != LevelBT && o.Fetcher == nil {
			return fmt.Errorf("%w: level %s needs a validation data fetcher", ErrNoValidationData, o.Level)
		}
	default:
		return fmt.Errorf("pades: unknown level %q", o.Level)
	}
	if o.Certify < 0 || o.Certify > 3 {
		return fmt.Errorf("pades: certification permission P must be 1, 2 or 3, not %d", o.Certify)
	}
	if err := o.validateWidgets(); err != nil {
		return err
	}
	c := o.Certificates[0]
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("%w: %q is valid from %s to %s", ErrCertificateExpired,
			c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	if c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fmt.Errorf("pades: certificate %q does not allow digital signatures (key usage)", c.Subject.CommonName)
	}
	return nil
}

func (o *Options) contentsSize() int {
	if o.ContentsSize > 0 {
		return o.ContentsSize
	}
	n := 4096
	for _, c := range o.Certificates {
		n += len(c.Raw) + 32
	}
	if o.Level != "" && o.Level != LevelBB {
		n += 12 << 10
	}
	return n
}

// Sign writes src (size bytes) followed by an incremental update holding a
// new PAdES signature to dst. It reads from src only the cross-reference
// data and the objects the update changes, and the whole file once while
// copying it. On error, what was written to dst must be discarded; callers
// write to a temporary file and rename it on success.
func Sign(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts Options) error {
	now, err := opts.now()
	if err != nil {
		return err
	}
	var file File
	if opts.Level == LevelBLT || opts.Level == LevelBLTA {
		f, ok := dst.(File)
		if !ok {
			return fmt.Errorf("pades: level %s appends to its output, which must be a File", opts.Level)
		}
		file = f
	}
	p, err := prepare(src, size, opts, now)
	if err != nil {
		return err
	}
	h := opts.hash()
	hs := h.New()
	buf := make([]byte, copyBufferSize(size))
	if _, err := io.CopyBuffer(io.MultiWriter(dst, hs), io.NewSectionReader(src, 0, size), buf); err != nil {
		return fmt.Errorf("pades: copying the document: %w", err)
	}
	err = p.write(dst, hs, func(digest []byte) ([]byte, error) {
		return signCMS(ctx, digest, opts)
	})
	if err != nil || file == nil {
		return err
	}
	lo := LTVOptions{Fetcher: opts.Fetcher, Timestamper: opts.Timestamper, Hash: h}
	n, err := AddValidationData(ctx, file, size+int64(len(p.built.Data)), lo)
	if err != nil || opts.Level == LevelBLT {
		return err
	}
	if opts.ArchiveTimestamper != nil {
		lo.Timestamper = opts.ArchiveTimestamper
	}
	n, err = AddDocumentTimestamp(ctx, file, n, lo)
	if err != nil {
		return err
	}
	_, err = AddValidationData(ctx, file, n, lo)
	return err
}

// SignUpdate is [Sign] at level B-B or B-T for a caller that stores a
// new revision apart from the document it extends: it writes to dst only
// the incremental update (the bytes that follow src in the signed file).
//
// If prefix is not nil it MUST be a hash of the signature's digest
// algorithm in the state after writing exactly src's size bytes (a blob
// store can keep that state, see blob.Store.Digest); SignUpdate then
// continues it instead of reading src through the digest, so that it
// reads from src only the cross-reference data and the objects the update
// changes. A prefix whose output size is not the algorithm's is refused.
func SignUpdate(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, prefix hash.Hash, opts Options) error {
	if opts.Level != "" && opts.Level != LevelBB && opts.Level != LevelBT {
		return fmt.Errorf("pades: SignUpdate makes B-B or B-T signatures, not %s", opts.Level)
	}
	now, err := opts.now()
	if err != nil {
		return err
	}
	p, err := prepare(src, size, opts, now)
	if err != nil {
		return err
	}
	h := opts.hash()
	hs := prefix
	if hs == nil {
		hs = h.New()
		buf := make([]byte, copyBufferSize(size))
		if _, err := io.CopyBuffer(hs, io.NewSectionReader(src, 0, size), buf); err != nil {
			return fmt.Errorf("pades: reading the document: %w", err)
		}
	} else if hs.Size() != h.Size() {
		return fmt.Errorf("pades: the document's digest state is not %v", h)
	}
	return p.write(dst, hs, func(digest []byte) ([]byte, error) {
		return signCMS(ctx, digest, opts)
	})
}

// now returns the signing time of opts and checks them.
func (o *Options) now() (time.Time, error) {
	now := o.Time
	if now.IsZero() {
		now = time.Now()
	}
	return now, o.validate(now)
}

// prepared is an incremental update built around an empty signature: its
// bytes, and the /Contents and /ByteRange slots in them.
type prepared struct {
	built     *pdf.Built
	contents  *pdf.HexSlot
	byteRange *pdf.TextSlot
}

// prepare parses src and builds the update that adds the signature of
// opts, with its slots still empty.
func prepare(src io.ReaderAt, size int64, opts Options, now time.Time) (*prepared, error) {
	r, err := pdf.Open(src, size)
	if err != nil {
		return nil, err
	}
	doc, err := inspect(r)
	if err != nil {
		return nil, err
	}
	if doc.docMDP == 1 {
		return nil, ErrCertified
	}
	if opts.Certify > 0 && doc.signatures > 0 {
		return nil, ErrAlreadySigned
	}
	upd := pdf.NewUpdate(r)
	contents := &pdf.HexSlot{Len: opts.contentsSize()}
	byteRange := &pdf.TextSlot{Width: 60}
	sig := pdf.Dict{
		"Type":      pdf.Name("Sig"),
		"Filter":    pdf.Name("Adobe.PPKLite"),
		"SubFilter": pdf.Name("ETSI.CAdES.detached"),
		"ByteRange": byteRange,
		"Contents":  contents,
		"M":         pdf.String(formatDate(now)),
	}
	for k, v := range map[pdf.Name]string{"Name": opts.Name, "Reason": opts.Reason, "Location": opts.Location, "ContactInfo": opts.ContactInfo} {
		if v != "" {
			sig[k] = textString(v)
		}
	}
	if opts.Certify > 0 {
		sig["Reference"] = pdf.Array{pdf.Dict{
			"Type":            pdf.Name("SigRef"),
			"TransformMethod": pdf.Name("DocMDP"),
			"TransformParams": pdf.Dict{"Type": pdf.Name("TransformParams"), "P": pdf.Integer(opts.Certify), "V": pdf.Name("1.2")},
		}}
	}
	sigRef := upd.Add(sig)
	ap := appearance{signer: opts.Certificates[0].Subject.CommonName, reason: opts.Reason, when: now}
	if err := addField(r, upd, doc, sigRef, opts, ap); err != nil {
		return nil, err
	}
	built, err := upd.Build()
	if err != nil {
		return nil, err
	}
	return &prepared{built: built, contents: contents, byteRange: byteRange}, nil
}

// write fills the slots and writes the update to dst: hs is the digest
// in the state after the document the update follows; the update outside
// the /Contents slot is added to it and sign makes the contents over the
// result.
func (p *prepared) write(dst io.Writer, hs hash.Hash, sign func(digest []byte) ([]byte, error)) error {
	if err := fillByteRange(p.built, p.contents, p.byteRange); err != nil {
		return err
	}
	if err := fillContents(hs, p.built, p.contents, sign); err != nil {
		return err
	}
	if _, err := dst.Write(p.built.Data); err != nil {
		return fmt.Errorf("pades: writing the update: %w", err)
	}
	return nil
}

// signCMS builds the CMS SignedData over digest, with a signature
// time-stamp at level B-T.
func signCMS(ctx context.Context, digest []byte, opts Options) ([]byte, error) {
	h := opts.hash()
	sd, err := cms.Sign(opts.Signer, digest, cms.SignOptions{Hash: h, PSS: opts.PSS, Certificates: opts.Certificates})
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	if opts.Level != "" && opts.Level != LevelBB {
		sh := h.New()
		sh.Write(sd.Signature())
		tok, err := opts.Timestamper.Timestamp(ctx, h, sh.Sum(nil))
		if err != nil {
			return nil, fmt.Errorf("pades: no signature time-stamp, signing aborted: %w", err)
		}
		if err := tok.CheckImprint(h, sh.Sum(nil)); err != nil {
			return nil, fmt.Errorf("pades: time-stamp does not cover the signature: %w", err)
		}
		if err := sd.SetTimestampToken(tok.Raw); err != nil {
			return nil, fmt.Errorf("pades: %w", err)
		}
	}
	return sd.Marshal()
}

// appendSigned signs an update appended to the file it reads: the
// existing bytes are hashed in place, not copied.
func appendSigned(f File, size int64, built *pdf.Built, contents *pdf.HexSlot, byteRange *pdf.TextSlot, h crypto.Hash, sign func(digest []byte) ([]byte, error)) (int64, error) {
	if err := fillByteRange(built, contents, byteRange); err != nil {
		return 0, err
	}
	hs := h.New()
	buf := make([]byte, copyBufferSize(size))
	if _, err := io.CopyBuffer(hs, io.NewSectionReader(f, 0, size), buf); err != nil {
		return 0, fmt.Errorf("pades: reading the document: %w", err)
	}
	if err := fillContents(hs, built, contents, sign); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(built.Data, size); err != nil {
		return 0, fmt.Errorf("pades: writing the update: %w", err)
	}
	return size + int64(len(built.Data)), nil
}

// fillByteRange writes the /ByteRange into its slot: everything but the
// /Contents slot, up to the end of the update.
func fillByteRange(built *pdf.Built, contents *pdf.HexSlot, byteRange *pdf.TextSlot) error {
	a := built.Base + int64(contents.Offset)
	b := a + int64(2*contents.Len+2)
	end := built.Base + int64(len(built.Data))
	br := fmt.Appendf(nil, "[0 %d %d %d]", a, b, end-b)
	if len(br) > byteRange.Width {
		return errors.New("pades: /ByteRange does not fit its slot")
	}
	copy(built.Data[byteRange.Offset:], br)
	return nil
}

// fillContents finishes the digest over the update outside the /Contents
// slot, asks sign for the contents and hex-encodes them into the slot.
func fillContents(hs hash.Hash, built *pdf.Built, contents *pdf.HexSlot, sign func(digest []byte) ([]byte, error)) error {
	data := built.Data
	hs.Write(data[:contents.Offset])
	hs.Write(data[contents.Offset+2*contents.Len+2:])
	der, err := sign(hs.Sum(nil))
	if err != nil {
		return err
	}
	if len(der) > contents.Len {
		return fmt.Errorf("%w: %d bytes needed, %d reserved", ErrContentsTooSmall, len(der), contents.Len)
	}
	// hex.Encode writes lower case; the rest of the slot stays "0".
	hex.Encode(data[contents.Offset+1:], der)
	return nil
}

// copyBufferSize sizes the copy buffer to the data, up to 1 MiB: small
// documents should not pay for zeroing a large buffer.
func copyBufferSize(n int64) int {
	return int(max(min(n, 1<<20), 4096))
}

// formatDate formats t as a PDF date string (§7.9.4).
func formatDate(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	if off == 0 {
		return t.Format("D:20060102150405") + "Z"
	}
	return fmt.Sprintf("%s%c%02d'%02d'", t.Format("D:20060102150405"), sign, off/3600, off%3600/60)
}

// textString encodes s as a PDF text string: PDFDocEncoding-compatible
// ASCII as is, anything else as UTF-16BE with a byte order mark.
func textString(s string) pdf.String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return pdf.String(s)
	}
	out := []byte{0xfe, 0xff}
	for _, r := range s {
		if r > 0xffff {
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			out = append(out, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return pdf.String(out)
}
