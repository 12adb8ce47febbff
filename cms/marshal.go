package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// Marshal returns the DER ContentInfo (RFC 5652 §3) of sd. For a parsed
// SignedData the signed attributes, algorithm identifiers, signer identifier
// and signature are written back byte for byte, so Parse(Marshal()) yields
// the same signed bytes; ContentType, Content, Certificates and
// UnsignedAttributes are encoded from the exported fields. The SET OF
// certificates and of unsigned attributes keep their given order (signer
// certificate first) rather than DER's sorted order; RFC 5652 §5.3 requires
// DER only for the signed attributes, which are always sorted.
func (sd *SignedData) Marshal() ([]byte, error) {
	if len(sd.digestAlgID) == 0 || len(sd.sigAlgID) == 0 || len(sd.sid.FullBytes) == 0 {
		return nil, errors.New("cms: SignedData was not built by Sign or Parse")
	}
	si, err := sd.marshalSignerInfo()
	if err != nil {
		return nil, err
	}
	signerInfos, err := tlv(asn1.ClassUniversal, asn1.TagSet, true, si)
	if err != nil {
		return nil, err
	}
	version, err := asn1.Marshal(sd.version)
	if err != nil {
		return nil, err
	}
	digestAlgs := sd.digestAlgs
	if len(digestAlgs) == 0 {
		if digestAlgs, err = tlv(asn1.ClassUniversal, asn1.TagSet, true, sd.digestAlgID); err != nil {
			return nil, err
		}
	}
	eci, err := sd.marshalEncapContentInfo()
	if err != nil {
		return nil, err
	}
	parts := [][]byte{version, digestAlgs, eci}
	if len(sd.Certificates) != 0 || len(sd.otherCerts) != 0 {
		var certs [][]byte
		for _, c := range sd.Certificates {
			if c == nil || len(c.Raw) == 0 {
				return nil, errors.New("cms: certificate without DER")
			}
			certs = append(certs, c.Raw)
		}
		for _, o := range sd.otherCerts {
			certs = append(certs, o.FullBytes)
		}
		field, err := tlv(asn1.ClassContextSpecific, 0, true, concat(certs...))
		if err != nil {
			return nil, err
		}
		parts = append(parts, field)
	}
	if len(sd.crls) != 0 {
		parts = append(parts, sd.crls)
	}
	parts = append(parts, signerInfos)
	signedData, err := sequence(parts...)
	if err != nil {
		return nil, err
	}
	wrapped, err := tlv(asn1.ClassContextSpecific, 0, true, signedData)
	if err != nil {
		return nil, err
	}
	oid, err := asn1.Marshal(OIDSignedData)
	if err != nil {
		return nil, err
	}
	return sequence(oid, wrapped)
}

func (sd *SignedData) marshalEncapContentInfo() ([]byte, error) {
	ct := sd.ContentType
	if ct == nil {
		ct = OIDData
	}
	oid, err := asn1.Marshal(ct)
	if err != nil {
		return nil, fmt.Errorf("cms: eContentType: %w", err)
	}
	if sd.Content == nil {
		return sequence(oid)
	}
	oct, err := asn1.Marshal(sd.Content)
	if err != nil {
		return nil, err
	}
	wrapped, err := tlv(asn1.ClassContextSpecific, 0, true, oct)
	if err != nil {
		return nil, err
	}
	return sequence(oid, wrapped)
}

func (sd *SignedData) marshalSignerInfo() ([]byte, error) {
	version, err := asn1.Marshal(sd.signerVersion)
	if err != nil {
		return nil, err
	}
	sig, err := asn1.Marshal(sd.signature)
	if err != nil {
		return nil, err
	}
	parts := [][]byte{version, sd.sid.FullBytes, sd.digestAlgID}
	if len(sd.signedAttrsDER) != 0 {
		parts = append(parts, sd.signedAttrsDER)
	}
	parts = append(parts, sd.sigAlgID, sig)
	if len(sd.UnsignedAttributes) != 0 {
		ua, err := marshalAttributes(sd.UnsignedAttributes, false)
		if err != nil {
			return nil, err
		}
		field, err := tlv(asn1.ClassContextSpecific, 1, true, ua)
		if err != nil {
			return nil, err
		}
		parts = append(parts, field)
	}
	return sequence(parts...)
}
