package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func digestOf(h crypto.Hash, data string) []byte {
	w := h.New()
	w.Write([]byte(data))
	return w.Sum(nil)
}

func TestRequestRoundTrip(t *testing.T) {
	big128, _ := new(big.Int).SetString("fedcba9876543210fedcba9876543210", 16)
	tests := []struct {
		name string
		req  Request
	}{
		{"sha256 minimal", Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "a")}},
		{"sha384 all fields", Request{Hash: crypto.SHA384, Digest: digestOf(crypto.SHA384, "b"), Policy: testPolicy, Nonce: big.NewInt(42), CertReq: true}},
		{"sha512 128-bit nonce", Request{Hash: crypto.SHA512, Digest: digestOf(crypto.SHA512, "c"), Nonce: big128}},
		{"sha224 zero nonce", Request{Hash: crypto.SHA224, Digest: digestOf(crypto.SHA224, "d"), Nonce: big.NewInt(0), CertReq: true}},
		{"sha1 parses", Request{Hash: crypto.SHA1, Digest: digestOf(crypto.SHA1, "e")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := tc.req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRequest(*got, tc.req) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *got, tc.req)
			}
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("re-encoding differs:\n%x\n%x", again, der)
			}
		})
	}
}

func TestRequestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		is   error
	}{
		{"md5", Request{Hash: crypto.MD5, Digest: make([]byte, 16)}, ErrUnsupportedHash},
		{"short digest", Request{Hash: crypto.SHA256, Digest: make([]byte, 31)}, nil},
		{"negative nonce", Request{Hash: crypto.SHA256, Digest: make([]byte, 32), Nonce: big.NewInt(-1)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.req.Marshal()
			if err == nil {
				t.Fatal("Marshal succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// mustMarshal encodes v or fails the test.
func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseRequestErrors(t *testing.T) {
	alg, _ := hashAlgorithm(crypto.SHA256)
	good := timeStampReq{Version: 1, MessageImprint: messageImprint{alg, make([]byte, 32)}}
	with := func(f func(*timeStampReq)) []byte {
		r := good
		f(&r)
		return mustMarshal(t, r)
	}
	tests := []struct {
		name string
		der  []byte
		is   error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("not a request"), ErrMalformed},
		{"trailing data", append(mustMarshal(t, good), 0), ErrMalformed},
		{"version 2", with(func(r *timeStampReq) { r.Version = 2 }), ErrMalformed},
		{"digest length", with(func(r *timeStampReq) { r.MessageImprint.HashedMessage = make([]byte, 20) }), ErrMalformed},
		{"negative nonce", with(func(r *timeStampReq) { r.Nonce = big.NewInt(-5) }), ErrMalformed},
		{"unknown hash", with(func(r *timeStampReq) {
			r.MessageImprint.HashAlgorithm = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}}
		}), ErrUnsupportedHash},
		{"hash parameters", with(func(r *timeStampReq) {
			r.MessageImprint.HashAlgorithm.Parameters = asn1.RawValue{FullBytes: []byte{0x02, 0x01, 0x01}}
		}), ErrUnsupportedHash},
		{"extensions", with(func(r *timeStampReq) {
			r.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}), errExtension},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest(tc.der)
			if !errors.Is(err, tc.is) {
				t.Errorf("ParseRequest error %v, want %v", err, tc.is)
			}
		})
	}
	// The unmodified request parses, so the failures above are the edits.
	if _, err := ParseRequest(mustMarshal(t, good)); err != nil {
		t.Fatalf("baseline request: %v", err)
	}
}

func TestInfoRoundTrip(t *testing.T) {
	name, err := directoryName(mustMarshal(t, pkix.Name{CommonName: "TSA", Country: []string{"DE"}}.ToRDNSequence()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		info     Info
		wantName string
	}{
		{"minimal", Info{Policy: testPolicy, Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "x"),
			SerialNumber: big.NewInt(1), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, ""},
		{"fraction and accuracy", Info{Policy: testPolicy, Hash: crypto.SHA384, Digest: digestOf(crypto.SHA384, "y"),
			SerialNumber: big.NewInt(1 << 62), Time: time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
			Accuracy: 1500*time.Millisecond + 7*time.Microsecond, Ordering: true, Nonce: big.NewInt(99)}, ""},
		{"micro accuracy", Info{Policy: testPolicy, Hash: crypto.SHA512, Digest: digestOf(crypto.SHA512, "z"),
			SerialNumber: big.NewInt(0), Time: time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			Accuracy: 250 * time.Microsecond}, ""},
		{"tsa name", Info{Policy: testPolicy, Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "w"),
			SerialNumber: big.NewInt(7), Time: testNow, Accuracy: time.Second, tsaName: name}, "CN=TSA,C=DE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := marshalInfo(&tc.info)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseInfo(der)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.info
			want.TSAName = tc.wantName
			if !sameInfo(*got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestGenTimeEncoding(t *testing.T) {
	tests := []struct {
		time time.Time
		want string
	}{
		{time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), "20240301120000Z"},
		{time.Date(2024, 3, 1, 12, 0, 0, 500000000, time.UTC), "20240301120000.5Z"},
		{time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC), "20240301120000.123456Z"},
		{time.Date(2024, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600)), "20240301120000Z"},
	}
	for _, tc := range tests {
		info := Info{Policy: testPolicy, Hash: crypto.SHA256, Digest: make([]byte, 32), SerialNumber: big.NewInt(1), Time: tc.time}
		der, err := marshalInfo(&info)
		if err != nil {
			t.Fatal(err)
		}
		var raw tstInfo
		if _, err := asn1.Unmarshal(der, &raw); err != nil {
			t.Fatal(err)
		}
		if got := string(raw.GenTime.Bytes); got != tc.want {
			t.Errorf("genTime for %v = %q, want %q", tc.time, got, tc.want)
		}
	}
	for _, bad := range []string{"20240301120000.50Z", "20240301120000.Z", "20240301120000+0100", "20240301120000", "2024030112Z", "20240301120000,5Z"} {
		_, err := parseGenTime(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagGeneralizedTime, Bytes: []byte(bad)})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("parseGenTime(%q) error %v, want ErrMalformed", bad, err)
		}
	}
}

func TestAccuracyRange(t *testing.T) {
	tests := []struct {
		acc  accuracy
		want time.Duration
		ok   bool
	}{
		{accuracy{Seconds: 1}, time.Second, true},
		{accuracy{Millis: 999, Micros: 1}, 999001 * time.Microsecond, true},
		{accuracy{Millis: 1000}, 0, false},
		{accuracy{Micros: 1000}, 0, false},
		{accuracy{Seconds: -1}, 0, false},
	}
	for _, tc := range tests {
		got, err := parseAccuracy(tc.acc)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAccuracy(%+v) = %v, %v; want %v, ok=%v", tc.acc, got, err, tc.want, tc.ok)
		}
	}
}

func TestBitString(t *testing.T) {
	tests := []struct {
		mask int
		der  string
	}{
		{FailureBadAlg, "03020780"},
		{FailureBadRequest, "03020520"},
		{FailureBadDataFormat, "03020204"},
		{FailureUnacceptedPolicy, "0303000001"},
		{FailureSystemFailure, "030506000000" + "40"},
		{FailureBadAlg | FailureUnacceptedExtension, "0304078000" + "80"},
	}
	for _, tc := range tests {
		der := mustMarshal(t, bitString(tc.mask))
		if got := hex.EncodeToString(der); got != tc.der {
			t.Errorf("bitString(%#x) = %s, want %s", tc.mask, got, tc.der)
		}
		var bs asn1.BitString
		if _, err := asn1.Unmarshal(der, &bs); err != nil {
			t.Fatal(err)
		}
		if got := bitMask(bs); got != tc.mask {
			t.Errorf("bitMask(bitString(%#x)) = %#x", tc.mask, got)
		}
	}
}

func TestResponseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		failure int
		text    string
		errText string
	}{
		{"rejection badAlg", StatusRejection, FailureBadAlg, "bad algorithm", "failure badAlg"},
		{"rejection two bits", StatusRejection, FailureUnacceptedPolicy | FailureUnacceptedExtension, "", "unacceptedPolicy,unacceptedExtension"},
		{"waiting", StatusWaiting, 0, "try later", "status 3"},
		{"revocation", StatusRevocationNotification, FailureSystemFailure, "üñí", "systemFailure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := marshalResponse(tc.status, tc.failure, tc.text, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseResponse(der)
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("ParseResponse error %v, want *StatusError", err)
			}
			want := StatusError{Status: tc.status, FailureInfo: tc.failure, Text: tc.text}
			if *se != want {
				t.Errorf("StatusError %+v, want %+v", *se, want)
			}
			if !strings.Contains(se.Error(), tc.errText) {
				t.Errorf("error text %q lacks %q", se.Error(), tc.errText)
			}
		})
	}
}

func TestParseResponseMalformed(t *testing.T) {
	grantedNoToken, err := marshalResponse(StatusGranted, 0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	notUTF8 := mustMarshal(t, timeStampResp{Status: pkiStatusInfo{Status: 2,
		StatusString: []asn1.RawValue{{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte("x")}}}})
	badToken, err := marshalResponse(StatusGranted, 0, "", mustMarshal(t, []int{1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{
		"empty":             nil,
		"granted, no token": grantedNoToken,
		"PrintableString":   notUTF8,
		"token not CMS":     badToken,
		"trailing":          append(grantedNoToken, 0),
	} {
		if _, err := ParseResponse(der); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseResponse error %v, want ErrMalformed", name, err)
		}
	}
}

func TestNewCertificateTemplateErrors(t *testing.T) {
	if _, err := NewCertificateTemplate(pkix.Name{}, big.NewInt(0), pkiNotBefore, pkiNotAfter); err == nil {
		t.Error("zero serial accepted")
	}
	if _, err := NewCertificateTemplate(pkix.Name{}, big.NewInt(1), pkiNotAfter, pkiNotBefore); err == nil {
		t.Error("reversed validity accepted")
	}
}

// sameBig reports whether a and b are both nil or equal.
func sameBig(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
}

// sameRequest compares requests by value (big.Int internals differ between
// equal values).
func sameRequest(a, b Request) bool {
	return a.Hash == b.Hash && bytes.Equal(a.Digest, b.Digest) && a.Policy.Equal(b.Policy) &&
		sameBig(a.Nonce, b.Nonce) && a.CertReq == b.CertReq
}

// sameInfo compares TSTInfo values field by field.
func sameInfo(a, b Info) bool {
	return a.Policy.Equal(b.Policy) && a.Hash == b.Hash && bytes.Equal(a.Digest, b.Digest) &&
		sameBig(a.SerialNumber, b.SerialNumber) && a.Time.Equal(b.Time) && a.Time.Location() == b.Time.Location() &&
		a.Accuracy == b.Accuracy && a.Ordering == b.Ordering && sameBig(a.Nonce, b.Nonce) &&
		a.TSAName == b.TSAName && bytes.Equal(a.tsaName, b.tsaName)
}
