package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/cms"
)

func TestServerRespond(t *testing.T) {
	p := newPKI(t)
	s := p.server()
	sha256Digest := digestOf(crypto.SHA256, "server test")
	good := timeStampReq{Version: 1, MessageImprint: messageImprint{mustAlg(t, crypto.SHA256), sha256Digest}, CertReq: true, Nonce: big.NewInt(12345)}
	with := func(f func(*timeStampReq)) []byte {
		r := good
		f(&r)
		return mustMarshal(t, r)
	}
	tests := []struct {
		name    string
		req     []byte
		status  int
		failure int
	}{
		{"granted", mustMarshal(t, good), StatusGranted, 0},
		{"granted with policy", with(func(r *timeStampReq) { r.ReqPolicy = testPolicy }), StatusGranted, 0},
		{"granted sha512 no certReq", with(func(r *timeStampReq) {
			r.MessageImprint = messageImprint{mustAlg(t, crypto.SHA512), digestOf(crypto.SHA512, "x")}
			r.CertReq = false
		}), StatusGranted, 0},
		{"sha1 refused", with(func(r *timeStampReq) {
			r.MessageImprint = messageImprint{mustAlg(t, crypto.SHA1), digestOf(crypto.SHA1, "x")}
		}), StatusRejection, FailureBadAlg},
		{"unknown hash", with(func(r *timeStampReq) {
			r.MessageImprint.HashAlgorithm = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3, 4}}
		}), StatusRejection, FailureBadAlg},
		{"other policy", with(func(r *timeStampReq) { r.ReqPolicy = asn1.ObjectIdentifier{1, 2, 3} }), StatusRejection, FailureUnacceptedPolicy},
		{"extension", with(func(r *timeStampReq) {
			r.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}), StatusRejection, FailureUnacceptedExtension},
		{"digest length", with(func(r *timeStampReq) { r.MessageImprint.HashedMessage = []byte{1, 2, 3} }), StatusRejection, FailureBadDataFormat},
		{"version 3", with(func(r *timeStampReq) { r.Version = 3 }), StatusRejection, FailureBadDataFormat},
		{"garbage", []byte{0x30, 0x03, 0x02, 0x01}, StatusRejection, FailureBadDataFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.Respond(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ParseResponse(resp)
			if tc.status != StatusGranted {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("ParseResponse error %v, want *StatusError", err)
				}
				if se.Status != tc.status || se.FailureInfo != tc.failure || se.Text == "" {
					t.Errorf("StatusError %+v, want status %d failure %#x with text", se, tc.status, tc.failure)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseRequest(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if err := tok.CheckImprint(req.Hash, req.Digest); err != nil {
				t.Error(err)
			}
			info := tok.Info
			if !info.Time.Equal(testNow.Truncate(time.Microsecond)) || info.Time.Location() != time.UTC {
				t.Errorf("genTime %v, want %v UTC", info.Time, testNow)
			}
			if info.Accuracy != 500*time.Millisecond || !info.Policy.Equal(testPolicy) || !sameBig(info.Nonce, req.Nonce) {
				t.Errorf("info %+v", info)
			}
			if want := "CN=Signet Test TSA,O=Signet Test"; info.TSAName != want {
				t.Errorf("TSAName %q, want %q", info.TSAName, want)
			}
			if info.SerialNumber.Sign() <= 0 || info.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v is not a positive 128-bit number", info.SerialNumber)
			}
			sd := tok.SignedData
			if !sd.ContentType.Equal(cms.OIDTSTInfo) {
				t.Errorf("content type %v", sd.ContentType)
			}
			if _, ok := sd.SignedAttribute(cms.OIDSigningCertificateV2); !ok {
				t.Error("no signing-certificate-v2 attribute")
			}
			if !req.CertReq {
				if len(sd.Certificates) != 0 {
					t.Errorf("%d certificates without certReq", len(sd.Certificates))
				}
				return
			}
			if len(sd.Certificates) != 2 || !sd.Certificates[0].Equal(p.leaf) || !sd.Certificates[1].Equal(p.inter) {
				t.Errorf("certificates %d, want leaf and intermediate", len(sd.Certificates))
			}
			cert, chains, err := tok.Verify(VerifyOptions{Roots: p.rootPool})
			if err != nil {
				t.Fatal(err)
			}
			if !cert.Equal(p.leaf) || len(chains) != 1 || len(chains[0]) != 3 {
				t.Errorf("Verify: cert %v, %d chains", cert.Subject, len(chains))
			}
		})
	}
}

func mustAlg(t testing.TB, h crypto.Hash) pkix.AlgorithmIdentifier {
	t.Helper()
	a, err := hashAlgorithm(h)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestServerSerialsAndRand(t *testing.T) {
	p := newPKI(t)
	req := mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "r"), CertReq: true})

	s := p.server()
	fixed := bytes.Repeat([]byte{0xa5}, 16)
	s.Rand = bytes.NewReader(fixed)
	tok := mustToken(t, s, req)
	if want := new(big.Int).SetBytes(fixed); !sameBig(tok.Info.SerialNumber, want) {
		t.Errorf("serial %x, want %x from Rand", tok.Info.SerialNumber, want)
	}
	// Rand is exhausted: the server fails rather than reuse a serial.
	if _, err := s.Respond(req); err == nil {
		t.Error("Respond succeeded with an exhausted Rand")
	}
	s.Rand = bytes.NewReader(make([]byte, 16))
	if _, err := s.Respond(req); err == nil {
		t.Error("Respond accepted an all-zero serial")
	}

	s = p.server()
	seen := map[string]bool{}
	for range 5 {
		sn := mustToken(t, s, req).Info.SerialNumber.String()
		if seen[sn] {
			t.Fatalf("serial %s repeated", sn)
		}
		seen[sn] = true
	}
}

func mustRequest(t testing.TB, r *Request) []byte {
	t.Helper()
	der, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustToken(t testing.TB, s *Server, req []byte) *Token {
	t.Helper()
	resp, err := s.Respond(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestServerConfiguration(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	req := mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "c")})
	tests := []struct {
		name string
		edit func(*Server)
		is   error
	}{
		{"no signer", func(s *Server) { s.Signer = nil }, nil},
		{"no certificate", func(s *Server) { s.Certificate = nil }, nil},
		{"no policy", func(s *Server) { s.Policy = nil }, nil},
		{"negative accuracy", func(s *Server) { s.Accuracy = -time.Second }, nil},
		{"key mismatch", func(s *Server) { s.Signer = other.leafKey }, cms.ErrKeyMismatch},
		{"unsupported signature hash", func(s *Server) { s.Hash = crypto.MD5 }, cms.ErrUnsupportedAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := p.server()
			tc.edit(s)
			_, err := s.Respond(req)
			if err == nil {
				t.Fatal("Respond succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			// Over HTTP the failure is a systemFailure reply with status 500.
			rec := httptest.NewRecorder()
			hreq := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(req))
			hreq.Header.Set("Content-Type", ContentTypeQuery)
			s.ServeHTTP(rec, hreq)
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("HTTP status %d, want 500", rec.Code)
			}
			var se *StatusError
			if _, err := ParseResponse(rec.Body.Bytes()); !errors.As(err, &se) || se.FailureInfo != FailureSystemFailure {
				t.Errorf("HTTP body: %v, want systemFailure", err)
			}
		})
	}
}

func TestServerHTTP(t *testing.T) {
	p := newPKI(t)
	srv := httptest.NewServer(p.server())
	t.Cleanup(srv.Close)
	req := mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "h"), CertReq: true})
	tests := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		status      int
		replyType   string
	}{
		{"granted", http.MethodPost, ContentTypeQuery, req, http.StatusOK, ContentTypeReply},
		{"media type parameter", http.MethodPost, ContentTypeQuery + "; charset=binary", req, http.StatusOK, ContentTypeReply},
		{"rejection is a reply", http.MethodPost, ContentTypeQuery, []byte("junk"), http.StatusOK, ContentTypeReply},
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed, ""},
		{"PUT", http.MethodPut, ContentTypeQuery, req, http.StatusMethodNotAllowed, ""},
		{"wrong type", http.MethodPost, "application/octet-stream", req, http.StatusUnsupportedMediaType, ""},
		{"no type", http.MethodPost, "", req, http.StatusUnsupportedMediaType, ""},
		{"too large", http.MethodPost, ContentTypeQuery, make([]byte, MaxRequestSize+1), http.StatusRequestEntityTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hreq, err := http.NewRequest(tc.method, srv.URL, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				hreq.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(hreq)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.replyType == "" {
				if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
					t.Errorf("Allow %q", resp.Header.Get("Allow"))
				}
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.replyType {
				t.Errorf("Content-Type %q", got)
			}
			var se *StatusError
			if _, err := ParseResponse(body); err != nil && !errors.As(err, &se) {
				t.Errorf("reply does not parse: %v", err)
			}
		})
	}
	// A body of exactly MaxRequestSize is read (and rejected as malformed,
	// not as too large).
	resp, err := http.Post(srv.URL, ContentTypeQuery, strings.NewReader(strings.Repeat("x", MaxRequestSize)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("64 KiB body: status %d, want 200", resp.StatusCode)
	}
}

func BenchmarkServerRespond(b *testing.B) {
	p := newPKI(b)
	s := p.server()
	s.Now = time.Now
	req := mustRequest(b, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "bench"), Nonce: big.NewInt(1), CertReq: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Respond(req); err != nil {
			b.Fatal(err)
		}
	}
}
