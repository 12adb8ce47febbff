package tsa

import (
	"encoding/asn1"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseResponse parses a DER TimeStampResp (RFC 3161 §2.4.2). When the
// PKIStatus is granted or grantedWithMods it returns the parsed token (see
// [ParseToken]); any other status yields a [*StatusError]. ParseResponse does
// not verify the token: call [Token.Verify] and check the nonce and imprint.
func ParseResponse(der []byte) (*Token, error) {
	var resp timeStampResp
	if err := unmarshalDER(der, &resp, "TimeStampResp"); err != nil {
		return nil, err
	}
	st := resp.Status
	if st.Status != StatusGranted && st.Status != StatusGrantedWithMods {
		text, err := freeText(st.StatusString)
		if err != nil {
			return nil, err
		}
		return nil, &StatusError{Status: st.Status, FailureInfo: bitMask(st.FailInfo), Text: text}
	}
	if len(resp.TimeStampToken.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: status %d without a token", ErrMalformed, st.Status)
	}
	return ParseToken(resp.TimeStampToken.FullBytes)
}

// freeText decodes PKIFreeText (RFC 4210 §5.1.1), a SEQUENCE OF UTF8String,
// joining its lines with "; ".
func freeText(lines []asn1.RawValue) (string, error) {
	var s []string
	for _, l := range lines {
		if l.Class != asn1.ClassUniversal || l.Tag != asn1.TagUTF8String || l.IsCompound || !utf8.Valid(l.Bytes) {
			return "", fmt.Errorf("%w: statusString is not UTF8String", ErrMalformed)
		}
		s = append(s, string(l.Bytes))
	}
	return strings.Join(s, "; "), nil
}

// marshalResponse returns a DER TimeStampResp with the given status,
// failure mask, status text (omitted when empty) and token (omitted when nil).
func marshalResponse(status, failure int, text string, token []byte) ([]byte, error) {
	resp := timeStampResp{Status: pkiStatusInfo{Status: status, FailInfo: bitString(failure)}}
	if text != "" {
		resp.Status.StatusString = []asn1.RawValue{{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(text)}}
	}
	if token != nil {
		resp.TimeStampToken = asn1.RawValue{FullBytes: token}
	}
	der, err := asn1.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("tsa: marshal response: %w", err)
	}
	return der, nil
}
