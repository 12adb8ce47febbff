package tsa

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers can test for with [errors.Is].
var (
	// ErrNoToken reports that no time-stamp authority produced a valid token.
	// Errors returned by [Client.Timestamp] wrap it together with the failure
	// of every URL tried.
	ErrNoToken = errors.New("tsa: no valid time-stamp token")

	// ErrMalformed reports a request, response or token that is not valid
	// DER of the structures of RFC 3161 §2.4.
	ErrMalformed = errors.New("tsa: malformed time-stamp data")

	// ErrUnsupportedHash reports a message imprint hash algorithm that Signet
	// does not know or does not accept.
	ErrUnsupportedHash = errors.New("tsa: unsupported hash algorithm")

	// ErrImprint reports a token whose message imprint (RFC 3161 §2.4.2)
	// differs from the expected hash algorithm and digest.
	ErrImprint = errors.New("tsa: message imprint mismatch")

	// ErrNonce reports a token that does not echo the request's nonce
	// (RFC 3161 §2.4.2).
	ErrNonce = errors.New("tsa: nonce mismatch")

	// ErrPolicy reports a token issued under a policy other than the one
	// requested (RFC 3161 §2.4.2).
	ErrPolicy = errors.New("tsa: policy mismatch")

	// ErrEKU reports a TSA certificate whose extended key usage is not
	// exactly id-kp-timeStamping in a critical extension (RFC 3161 §2.3).
	ErrEKU = errors.New("tsa: certificate is not a time-stamping certificate")

	// ErrGenTime reports a token whose genTime lies outside the validity
	// period of the TSA certificate.
	ErrGenTime = errors.New("tsa: genTime outside the TSA certificate's validity")
)

// PKIStatus values of RFC 3161 §2.4.2.
const (
	StatusGranted                = 0
	StatusGrantedWithMods        = 1
	StatusRejection              = 2
	StatusWaiting                = 3
	StatusRevocationWarning      = 4
	StatusRevocationNotification = 5
)

// PKIFailureInfo bits of RFC 3161 §2.4.2, as a bit mask: bit n of the ASN.1
// BIT STRING is 1<<n.
const (
	FailureBadAlg              = 1 << 0
	FailureBadRequest          = 1 << 2
	FailureBadDataFormat       = 1 << 5
	FailureTimeNotAvailable    = 1 << 14
	FailureUnacceptedPolicy    = 1 << 15
	FailureUnacceptedExtension = 1 << 16
	FailureAddInfoNotAvailable = 1 << 17
	FailureSystemFailure       = 1 << 25
)

var failureNames = []struct {
	bit  int
	name string
}{
	{FailureBadAlg, "badAlg"},
	{FailureBadRequest, "badRequest"},
	{FailureBadDataFormat, "badDataFormat"},
	{FailureTimeNotAvailable, "timeNotAvailable"},
	{FailureUnacceptedPolicy, "unacceptedPolicy"},
	{FailureUnacceptedExtension, "unacceptedExtension"},
	{FailureAddInfoNotAvailable, "addInfoNotAvailable"},
	{FailureSystemFailure, "systemFailure"},
}

// StatusError is returned by [ParseResponse] when a TimeStampResp carries a
// PKIStatus other than granted or grantedWithMods (RFC 3161 §2.4.2).
type StatusError struct {
	// Status is the PKIStatus, for example [StatusRejection].
	Status int
	// FailureInfo is the PKIFailureInfo as a mask of the Failure* constants.
	FailureInfo int
	// Text is the statusString, its lines joined with "; ".
	Text string
}

// Error implements the error interface.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tsa: time-stamp request not granted (status %d", e.Status)
	var names []string
	for _, f := range failureNames {
		if e.FailureInfo&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	if rest := e.FailureInfo &^ knownFailures(); rest != 0 {
		names = append(names, fmt.Sprintf("%#x", rest))
	}
	if len(names) > 0 {
		fmt.Fprintf(&b, ", failure %s", strings.Join(names, ","))
	}
	b.WriteString(")")
	if e.Text != "" {
		fmt.Fprintf(&b, ": %q", e.Text)
	}
	return b.String()
}

func knownFailures() int {
	m := 0
	for _, f := range failureNames {
		m |= f.bit
	}
	return m
}
