package pades

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/tsa"
)

// File is a document being extended in place: B-LT and B-LTA append
// updates after reading what is already written. *os.File implements it.
type File interface {
	io.ReaderAt
	io.WriterAt
}

// A ValidationFetcher gathers the certificates and revocation data that
// validate a certificate. *ltv.Fetcher implements it; it MUST fail when a
// certificate's revocation status cannot be established.
type ValidationFetcher interface {
	Collect(ctx context.Context, leaf *x509.Certificate, pool []*x509.Certificate) (*ltv.Data, error)
}

// LTVOptions configures [AddValidationData] and [Archive].
type LTVOptions struct {
	// Fetcher gathers validation data online.
	Fetcher ValidationFetcher
	// Timestamper provides document time-stamps (B-LTA): the archive
	// time-stamp authority, whose certificate should outlive the signature
	// time-stamps' (see [Verify]).
	Timestamper Timestamper
	// Hash is the digest for document time-stamps; zero means SHA-256.
	Hash crypto.Hash
}

func (o LTVOptions) hash() crypto.Hash {
	if o.Hash == 0 {
		return crypto.SHA256
	}
	return o.Hash
}

// ErrNoValidationData means the validation data for B-LT could not be
// gathered; the level is not reached and nothing is written.
var ErrNoValidationData = errors.New("pades: validation data (B-LT) unavailable")

// signedItem is a signature or document time-stamp found in the document,
// with what is needed to gather its validation data.
type signedItem struct {
	field    string
	contents []byte // the /Contents value, for the VRI key
	kind     string
	signer   *x509.Certificate
	certs    []*x509.Certificate
	tokens   []*tsa.Token // signature time-stamp, or the document time-stamp itself
}

// signedItems lists the signatures and document time-stamps of r.
func signedItems(r *pdf.Reader) ([]signedItem, error) {
	fields, err := signatureFields(r)
	if err != nil {
		return nil, err
	}
	var out []signedItem
	for _, f := range fields {
		c, _ := f.sig["Contents"].(pdf.String)
		it := signedItem{field: f.name, contents: c}
		if f.sig.Name("SubFilter") == "ETSI.RFC3161" {
			tok, err := tsa.ParseToken(trimPadding(c))
			if err != nil {
				return nil, fmt.Errorf("pades: document time-stamp %q: %w", f.name, err)
			}
			it.kind = "document-timestamp"
			it.tokens = []*tsa.Token{tok}
			out = append(out, it)
			continue
		}
		sd, err := cms.Parse(c)
		if err != nil {
			return nil, fmt.Errorf("pades: signature %q: %w", f.name, err)
		}
		it.kind = "signature"
		it.signer, err = sd.SignerCertificate()
		if err != nil {
			return nil, fmt.Errorf("pades: signature %q: %w", f.name, err)
		}
		it.certs = sd.Certificates
		if der := sd.TimestampToken(); der != nil {
			tok, err := tsa.ParseToken(der)
			if err != nil {
				return nil, fmt.Errorf("pades: time-stamp of %q: %w", f.name, err)
			}
			it.tokens = append(it.tokens, tok)
		}
		out = append(out, it)
	}
	return out, nil
}

// AddValidationData appends to f (size bytes) an update with a DSS
// dictionary (ISO 32000-2 §12.8.4.3) holding the certificates, OCSP
// responses and CRLs that validate every signature's signer and every
// time-stamp's authority, with a /VRI entry per signature. Gathering is
// fail-closed for every item: if one cannot be covered, nothing is written.
// It returns the new size.
func AddValidationData(ctx context.Context, f File, size int64, opts LTVOptions) (int64, error) {
	if opts.Fetcher == nil {
		return 0, fmt.Errorf("%w: no fetcher configured", ErrNoValidationData)
	}
	r, err := pdf.Open(f, size)
	if err != nil {
		return 0, err
	}
	items, err := signedItems(r)
	if err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, errors.New("pades: the document has no signatures to add validation data for")
	}
	all := &ltv.Data{}
	vri := map[string]*ltv.Data{}
	for _, it := range items {
		d := &ltv.Data{}
		if it.signer != nil {
			got, err := opts.Fetcher.Collect(ctx, it.signer, it.certs)
			if err != nil {
				return 0, fmt.Errorf("%w for signature %q: %v", ErrNoValidationData, it.field, err)
			}
			d.Add(got)
		}
		for _, tok := range it.tokens {
			tsaCert, err := tok.SignedData.SignerCertificate()
			if err != nil {
				return 0, fmt.Errorf("%w for the time-stamp of %q: %v", ErrNoValidationData, it.field, err)
			}
			got, err := opts.Fetcher.Collect(ctx, tsaCert, tok.SignedData.Certificates)
			if err != nil {
				return 0, fmt.Errorf("%w for the time-stamp authority of %q: %v", ErrNoValidationData, it.field, err)
			}
			d.Add(got)
		}
		all.Add(d)
		vri[ltv.VRIKey(it.contents)] = d
	}
	built, err := dssUpdate(r, all, vri)
	if err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(built.Data, size); err != nil {
		return 0, fmt.Errorf("pades: writing the DSS: %w", err)
	}
	return size + int64(len(built.Data)), nil
}

// dssUpdate builds an update whose DSS holds the existing DSS entries plus
// the new material.
func dssUpdate(r *pdf.Reader, all *ltv.Data, vri map[string]*ltv.Data) (*pdf.Built, error) {
	catRef, cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	old, err := r.Dict(cat["DSS"])
	if err != nil {
		return nil, fmt.Errorf("pades: reading the existing DSS: %w", err)
	}
	u := pdf.NewUpdate(r)
	dss := pdf.Dict{"Type": pdf.Name("DSS")}
	// Existing streams are kept by reference; new items are added once.
	refs := map[string]map[string]pdf.Ref{"Certs": {}, "OCSPs": {}, "CRLs": {}}
	for _, key := range []pdf.Name{"Certs", "OCSPs", "CRLs"} {
		arrObj, _ := r.Resolve(old[key])
		arr, _ := arrObj.(pdf.Array)
		out := pdf.Array{}
		for _, e := range arr {
			ref, ok := e.(pdf.Ref)
			if !ok {
				continue
			}
			if s, err := r.Resolve(ref); err == nil {
				if st, ok := s.(*pdf.Stream); ok {
					if data, err := r.Decode(st); err == nil {
						refs[string(key)][string(data)] = ref
					}
				}
			}
			out = append(out, ref)
		}
		dss[key] = out
	}
	add := func(key string, data []byte) pdf.Ref {
		if ref, ok := refs[key][string(data)]; ok {
			return ref
		}
		ref := u.Add(&pdf.Stream{Dict: pdf.Dict{}, Data: data})
		refs[key][string(data)] = ref
		dss[pdf.Name(key)] = append(dss[pdf.Name(key)].(pdf.Array), ref)
		return ref
	}
	for _, c := range all.Certs {
		add("Certs", c.Raw)
	}
	for _, o := range all.OCSPs {
		add("OCSPs", o)
	}
	for _, c := range all.CRLs {
		add("CRLs", c)
	}
	vriDict := pdf.Dict{}
	if ov, err := r.Dict(old["VRI"]); err == nil {
		for k, v := range ov {
			vriDict[k] = v
		}
	}
	now := time.Now().UTC()
	for key, d := range vri {
		e := pdf.Dict{"TU": pdf.String(formatDate(now))}
		var certs, ocsps, crls pdf.Array
		for _, c := range d.Certs {
			certs = append(certs, add("Certs", c.Raw))
		}
		for _, o := range d.OCSPs {
			ocsps = append(ocsps, add("OCSPs", o))
		}
		for _, c := range d.CRLs {
			crls = append(crls, add("CRLs", c))
		}
		if len(certs) > 0 {
			e["Cert"] = certs
		}
		if len(ocsps) > 0 {
			e["OCSP"] = ocsps
		}
		if len(crls) > 0 {
			e["CRL"] = crls
		}
		vriDict[pdf.Name(key)] = e
	}
	dss["VRI"] = vriDict
	for _, key := range []pdf.Name{"Certs", "OCSPs", "CRLs"} {
		if len(dss[key].(pdf.Array)) == 0 {
			delete(dss, key)
		}
	}
	nc := cat.Clone()
	nc["DSS"] = u.Add(dss)
	u.Set(catRef, nc)
	return u.Build()
}

// AddDocumentTimestamp appends to f (size bytes) a document time-stamp
// (SubFilter ETSI.RFC3161) over the whole document and returns the new
// size. Without a valid token nothing is written.
func AddDocumentTimestamp(ctx context.Context, f File, size int64, opts LTVOptions) (int64, error) {
	if opts.Timestamper == nil {
		return 0, ErrNoTimestamp
	}
	r, err := pdf.Open(f, size)
	if err != nil {
		return 0, err
	}
	doc, err := inspect(r)
	if err != nil {
		return 0, err
	}
	upd := pdf.NewUpdate(r)
	contents := &pdf.HexSlot{Len: 20 << 10}
	byteRange := &pdf.TextSlot{Width: 60}
	sigRef := upd.Add(pdf.Dict{
		"Type":      pdf.Name("DocTimeStamp"),
		"Filter":    pdf.Name("Adobe.PPKLite"),
		"SubFilter": pdf.Name("ETSI.RFC3161"),
		"ByteRange": byteRange,
		"Contents":  contents,
	})
	name := ""
	for i := 1; ; i++ {
		name = fmt.Sprintf("DocumentTimestamp%d", i)
		if !doc.fieldNames[name] {
			break
		}
	}
	if err := addField(r, upd, doc, sigRef, Options{FieldName: name}, appearance{}); err != nil {
		return 0, err
	}
	built, err := upd.Build()
	if err != nil {
		return 0, err
	}
	h := opts.hash()
	return appendSigned(f, size, built, contents, byteRange, h, func(digest []byte) ([]byte, error) {
		tok, err := opts.Timestamper.Timestamp(ctx, h, digest)
		if err != nil {
			return nil, fmt.Errorf("pades: no document time-stamp: %w", err)
		}
		if err := tok.CheckImprint(h, digest); err != nil {
			return nil, fmt.Errorf("pades: document time-stamp does not cover the document: %w", err)
		}
		return tok.Raw, nil
	})
}

// Archive renews the long-term validity of a document (archive
// time-stamp renewal, ETSI EN 319 142-1 §5.4): it adds the validation data
// of every signature and time-stamp, including the latest document
// time-stamp, then a new document time-stamp, then the validation data of
// that time-stamp's authority. Run it before the authority certificate of
// the latest document time-stamp expires. It returns the new size.
func Archive(ctx context.Context, f File, size int64, opts LTVOptions) (int64, error) {
	size, err := AddValidationData(ctx, f, size, opts)
	if err != nil {
		return 0, err
	}
	size, err = AddDocumentTimestamp(ctx, f, size, opts)
	if err != nil {
		return 0, err
	}
	return AddValidationData(ctx, f, size, opts)
}
