package cms

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Parse parses a DER ContentInfo (RFC 5652 §3) holding a SignedData
// (RFC 5652 §5.1). Trailing 0x00 bytes, the padding of a PDF /Contents
// string (ISO 32000-1 §12.8.1), are accepted; any other trailing data is an
// error. BER input (indefinite lengths, constructed OCTET STRINGs), which
// RFC 5652 §5.1 allows and some signers write, is read by first converting it
// to DER; the signed attributes must already be DER (RFC 5652 §5.3). A
// SignedData without exactly one SignerInfo is rejected with
// [ErrSignerCount].
//
// Certificates in the certificates field that crypto/x509 cannot parse, and
// the other CertificateChoices, are kept for [SignedData.Marshal] but left
// out of Certificates.
func Parse(der []byte) (*SignedData, error) {
	norm, rest, err := berToDER(der)
	if err != nil {
		return nil, fmt.Errorf("cms: ContentInfo: %w", err)
	}
	for _, b := range rest {
		if b != 0 {
			return nil, errors.New("cms: trailing data after ContentInfo")
		}
	}
	var ci asn1.RawValue
	if err := unmarshalExact(norm, &ci, "ContentInfo"); err != nil {
		return nil, err
	}
	if ci.Class != asn1.ClassUniversal || ci.Tag != asn1.TagSequence || !ci.IsCompound {
		return nil, errors.New("cms: ContentInfo: not a SEQUENCE")
	}
	r := derReader{ci.Bytes}
	oidRV, err := r.nextTagged("ContentInfo contentType", asn1.ClassUniversal, asn1.TagOID, false)
	if err != nil {
		return nil, err
	}
	var ct asn1.ObjectIdentifier
	if err := unmarshalExact(oidRV.FullBytes, &ct, "ContentInfo contentType"); err != nil {
		return nil, err
	}
	if !ct.Equal(OIDSignedData) {
		return nil, fmt.Errorf("cms: ContentInfo: content type %v is not signedData", ct)
	}
	wrapper, err := r.nextTagged("ContentInfo content", asn1.ClassContextSpecific, 0, true)
	if err != nil {
		return nil, err
	}
	if !r.empty() {
		return nil, errors.New("cms: ContentInfo: trailing data")
	}
	inner := derReader{wrapper.Bytes}
	sdRV, err := inner.nextTagged("SignedData", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return nil, err
	}
	if !inner.empty() {
		return nil, errors.New("cms: ContentInfo content: trailing data")
	}
	sd, err := parseSignedData(sdRV.Bytes)
	if err != nil {
		return nil, err
	}
	return sd, nil
}

func parseSignedData(content []byte) (*SignedData, error) {
	sd := new(SignedData)
	r := derReader{content}

	verRV, err := r.nextTagged("SignedData version", asn1.ClassUniversal, asn1.TagInteger, false)
	if err != nil {
		return nil, err
	}
	if err := unmarshalExact(verRV.FullBytes, &sd.version, "SignedData version"); err != nil {
		return nil, err
	}
	algs, err := r.nextTagged("SignedData digestAlgorithms", asn1.ClassUniversal, asn1.TagSet, true)
	if err != nil {
		return nil, err
	}
	sd.digestAlgs = algs.FullBytes

	if err := sd.parseEncapContentInfo(&r); err != nil {
		return nil, err
	}
	if r.peek(asn1.ClassContextSpecific, 0) {
		certs, err := r.nextTagged("SignedData certificates", asn1.ClassContextSpecific, 0, true)
		if err != nil {
			return nil, err
		}
		if err := sd.parseCertificates(certs.Bytes); err != nil {
			return nil, err
		}
	}
	if r.peek(asn1.ClassContextSpecific, 1) {
		crls, err := r.nextTagged("SignedData crls", asn1.ClassContextSpecific, 1, true)
		if err != nil {
			return nil, err
		}
		sd.crls = crls.FullBytes
	}
	infos, err := r.nextTagged("SignedData signerInfos", asn1.ClassUniversal, asn1.TagSet, true)
	if err != nil {
		return nil, err
	}
	if !r.empty() {
		return nil, errors.New("cms: SignedData: trailing data")
	}
	ir := derReader{infos.Bytes}
	var signer asn1.RawValue
	n := 0
	for !ir.empty() {
		si, err := ir.next("SignerInfo")
		if err != nil {
			return nil, err
		}
		signer = si
		n++
	}
	if n != 1 {
		return nil, fmt.Errorf("%w (found %d)", ErrSignerCount, n)
	}
	if signer.Class != asn1.ClassUniversal || signer.Tag != asn1.TagSequence || !signer.IsCompound {
		return nil, errors.New("cms: SignerInfo: not a SEQUENCE")
	}
	if err := sd.parseSignerInfo(signer.Bytes); err != nil {
		return nil, err
	}
	return sd, nil
}

func (sd *SignedData) parseEncapContentInfo(r *derReader) error {
	eci, err := r.nextTagged("encapContentInfo", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return err
	}
	er := derReader{eci.Bytes}
	oidRV, err := er.nextTagged("eContentType", asn1.ClassUniversal, asn1.TagOID, false)
	if err != nil {
		return err
	}
	if err := unmarshalExact(oidRV.FullBytes, &sd.ContentType, "eContentType"); err != nil {
		return err
	}
	if er.empty() {
		return nil
	}
	wrapper, err := er.nextTagged("eContent", asn1.ClassContextSpecific, 0, true)
	if err != nil {
		return err
	}
	if !er.empty() {
		return errors.New("cms: encapContentInfo: trailing data")
	}
	wr := derReader{wrapper.Bytes}
	oct, err := wr.nextTagged("eContent", asn1.ClassUniversal, asn1.TagOctetString, false)
	if err != nil {
		return err
	}
	if !wr.empty() {
		return errors.New("cms: eContent: trailing data")
	}
	sd.Content = append([]byte{}, oct.Bytes...)
	return nil
}

func (sd *SignedData) parseCertificates(content []byte) error {
	r := derReader{content}
	for !r.empty() {
		rv, err := r.next("certificate")
		if err != nil {
			return err
		}
		if rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagSequence {
			if c, err := x509.ParseCertificate(rv.FullBytes); err == nil {
				sd.Certificates = append(sd.Certificates, c)
				continue
			}
		}
		sd.otherCerts = append(sd.otherCerts, rv)
	}
	return nil
}

func (sd *SignedData) parseSignerInfo(content []byte) error {
	r := derReader{content}
	verRV, err := r.nextTagged("SignerInfo version", asn1.ClassUniversal, asn1.TagInteger, false)
	if err != nil {
		return err
	}
	if err := unmarshalExact(verRV.FullBytes, &sd.signerVersion, "SignerInfo version"); err != nil {
		return err
	}
	sid, err := r.next("SignerInfo sid")
	if err != nil {
		return err
	}
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence && sid.IsCompound:
		var ias issuerAndSerialNumber
		if err := unmarshalExact(sid.FullBytes, &ias, "SignerInfo issuerAndSerialNumber"); err != nil {
			return err
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound:
	default:
		return errors.New("cms: SignerInfo sid: neither issuerAndSerialNumber nor subjectKeyIdentifier")
	}
	sd.sid = sid

	digRV, err := r.nextTagged("SignerInfo digestAlgorithm", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return err
	}
	var digID algorithmIdentifier
	if err := unmarshalExact(digRV.FullBytes, &digID, "SignerInfo digestAlgorithm"); err != nil {
		return err
	}
	h, ok := HashFromOID(digID.Algorithm)
	if !ok {
		return fmt.Errorf("%w: digest algorithm %v", ErrUnsupportedAlgorithm, digID.Algorithm)
	}
	sd.DigestAlgorithm = h
	sd.digestAlgID = digRV.FullBytes

	if r.peek(asn1.ClassContextSpecific, 0) {
		sa, err := r.nextTagged("signedAttrs", asn1.ClassContextSpecific, 0, true)
		if err != nil {
			return err
		}
		if sd.SignedAttributes, err = parseAttributes(sa.Bytes, "signed attribute"); err != nil {
			return err
		}
		sd.signedAttrsDER = sa.FullBytes
	}

	sigRV, err := r.nextTagged("SignerInfo signatureAlgorithm", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return err
	}
	var sigID algorithmIdentifier
	if err := unmarshalExact(sigRV.FullBytes, &sigID, "SignerInfo signatureAlgorithm"); err != nil {
		return err
	}
	info, err := parseSignatureAlgorithm(sigID, h)
	if err != nil {
		return err
	}
	sd.sigAlgID = sigRV.FullBytes
	sd.SignatureAlgorithm = info.alg
	sd.signatureHash = info.hash
	sd.signatureScheme = info.scheme
	sd.pssSaltLength = info.saltLength

	sig, err := r.nextTagged("SignerInfo signature", asn1.ClassUniversal, asn1.TagOctetString, false)
	if err != nil {
		return err
	}
	sd.signature = append([]byte{}, sig.Bytes...)

	if r.peek(asn1.ClassContextSpecific, 1) {
		ua, err := r.nextTagged("unsignedAttrs", asn1.ClassContextSpecific, 1, true)
		if err != nil {
			return err
		}
		if sd.UnsignedAttributes, err = parseAttributes(ua.Bytes, "unsigned attribute"); err != nil {
			return err
		}
	}
	if !r.empty() {
		return errors.New("cms: SignerInfo: trailing data")
	}
	return nil
}
