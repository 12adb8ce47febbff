package tsa

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/signet-pki/signet/cms"
)

// Media types of RFC 3161 §3.4.
const (
	ContentTypeQuery = "application/timestamp-query"
	ContentTypeReply = "application/timestamp-reply"
)

// MaxRequestSize is the largest request body [Server.ServeHTTP] reads. A
// TimeStampReq with a SHA-512 imprint, a policy and a nonce is well under
// 200 bytes; the bound leaves room for a long nonce, nothing more, since
// every request is read by an anonymous endpoint.
const MaxRequestSize = 4 << 10

// defaultAccuracy is the accuracy stated in tokens when Server.Accuracy is
// zero.
const defaultAccuracy = time.Second

// Server is an RFC 3161 time-stamp authority. It implements
// [net/http.Handler] for the HTTP transport of RFC 3161 §3.4; [Server.Respond]
// serves the same protocol without HTTP. A Server is safe for concurrent use
// when Signer, Now and Rand are.
type Server struct {
	// Signer holds the TSA key. It may be backed by software, PKCS#11 or a
	// KMS.
	Signer crypto.Signer
	// Certificate is the TSA certificate for Signer's public key. It must
	// carry id-kp-timeStamping as its only, critical, extended key usage
	// (RFC 3161 §2.3).
	Certificate *x509.Certificate
	// Chain holds the intermediate certificates (not the root) included in
	// tokens when the request sets certReq.
	Chain []*x509.Certificate
	// Policy is the TSA policy of every token; requests naming another
	// policy are rejected with unacceptedPolicy. It is required.
	Policy asn1.ObjectIdentifier
	// Hash is the digest algorithm of the token's signature; zero means
	// SHA-256.
	Hash crypto.Hash
	// Accuracy is the stated accuracy of genTime; zero means one second.
	Accuracy time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of serial numbers; nil means crypto/rand.Reader.
	Rand io.Reader
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP answers a POST with Content-Type application/timestamp-query
// with an application/timestamp-reply body (RFC 3161 §3.4). Other methods
// get 405, other content types 415 and bodies over [MaxRequestSize] 413.
// Requests the TSA refuses get a rejection TimeStampResp with status 200; a
// failure of the TSA itself gets a systemFailure response with status 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "tsa: only POST is supported", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentTypeQuery {
		http.Error(w, "tsa: content type must be "+ContentTypeQuery, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "tsa: request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "tsa: reading request failed", http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	resp, err := s.Respond(body)
	if err != nil {
		status = http.StatusInternalServerError
		if resp, err = marshalResponse(StatusRejection, FailureSystemFailure, "internal error", nil); err != nil {
			http.Error(w, "tsa: internal error", status)
			return
		}
	}
	w.Header().Set("Content-Type", ContentTypeReply)
	w.WriteHeader(status)
	w.Write(resp)
}

// Respond answers the DER TimeStampReq req with a DER TimeStampResp
// (RFC 3161 §2.4). A request the TSA refuses yields a rejection response
// and a nil error: badDataFormat for malformed DER, badAlg for an unknown
// or unaccepted hash algorithm, unacceptedPolicy for a policy other than
// s.Policy and unacceptedExtension for request extensions. An error means
// the TSA itself failed (configuration, randomness or signing) and no
// response was produced.
//
// Granted tokens carry a fresh 128-bit serial number from s.Rand, genTime
// from s.Now in UTC with s.Accuracy, the request's nonce, and, when the
// request sets certReq, s.Certificate and s.Chain. They are signed with
// content type id-ct-TSTInfo and the signing-certificate-v2 attribute
// (RFC 5816).
func (s *Server) Respond(req []byte) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	r, err := ParseRequest(req)
	if err != nil {
		failure := FailureBadDataFormat
		switch {
		case errors.Is(err, ErrUnsupportedHash):
			failure = FailureBadAlg
		case errors.Is(err, errExtension):
			failure = FailureUnacceptedExtension
		}
		return marshalResponse(StatusRejection, failure, err.Error(), nil)
	}
	if !acceptedHash(r.Hash) {
		return marshalResponse(StatusRejection, FailureBadAlg, fmt.Sprintf("hash algorithm %v is not accepted", r.Hash), nil)
	}
	if r.Policy != nil && !r.Policy.Equal(s.Policy) {
		return marshalResponse(StatusRejection, FailureUnacceptedPolicy, fmt.Sprintf("policy %v is not served", r.Policy), nil)
	}
	token, err := s.issue(r)
	if err != nil {
		return nil, err
	}
	return marshalResponse(StatusGranted, 0, "", token)
}

// validate checks the configuration fields that have no default.
func (s *Server) validate() error {
	switch {
	case s.Signer == nil:
		return errors.New("tsa: server has no signer")
	case s.Certificate == nil:
		return errors.New("tsa: server has no certificate")
	case len(s.Policy) == 0:
		return errors.New("tsa: server has no policy")
	case s.Accuracy < 0:
		return errors.New("tsa: server has a negative accuracy")
	}
	return nil
}

// issue signs a token for r and returns its DER ContentInfo.
func (s *Server) issue(r *Request) ([]byte, error) {
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	serial, err := randomSerial(rnd)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	acc := s.Accuracy
	if acc == 0 {
		acc = defaultAccuracy
	}
	name, err := directoryName(s.Certificate.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("tsa: TSA name: %w", err)
	}
	info := &Info{
		Policy:       s.Policy,
		Hash:         r.Hash,
		Digest:       r.Digest,
		SerialNumber: serial,
		Time:         now().UTC().Truncate(time.Microsecond),
		Accuracy:     acc,
		Nonce:        r.Nonce,
		tsaName:      name,
	}
	content, err := marshalInfo(info)
	if err != nil {
		return nil, err
	}
	h := s.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	certs := append([]*x509.Certificate{s.Certificate}, s.Chain...)
	sd, err := cms.Sign(s.Signer, nil, cms.SignOptions{
		Hash:         h,
		Certificates: certs,
		ContentType:  cms.OIDTSTInfo,
		Content:      content,
	})
	if err != nil {
		return nil, fmt.Errorf("tsa: sign token: %w", err)
	}
	if !r.CertReq {
		// RFC 3161 §2.4.1: without certReq the certificates field must be
		// absent. The signing-certificate-v2 attribute still names the
		// certificate.
		sd.Certificates = nil
	}
	der, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("tsa: marshal token: %w", err)
	}
	return der, nil
}

// randomSerial returns a positive 128-bit serial number read from rnd.
func randomSerial(rnd io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("tsa: serial number: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, errors.New("tsa: serial number: random source returned zeros")
	}
	return n, nil
}
