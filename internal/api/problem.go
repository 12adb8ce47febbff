package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// ProblemBase is the prefix of every problem type URI.
const ProblemBase = "https://signet.dev/problems/"

// ContentTypeProblem is the media type of problem details (RFC 9457 §3).
const ContentTypeProblem = "application/problem+json"

// A Problem is an RFC 9457 problem details object (§3.1) with Signet's
// extension member request_id (§3.2).
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// StepUp is set on a "step-up-required" problem: what authentication
	// the action needs.
	StepUp *StepUp `json:"step_up,omitempty"`
}

// A StepUp says what fresh authentication a risky action needs: one of
// Methods ("passkey", "totp") within MaxAge seconds.
type StepUp struct {
	Methods []string `json:"methods"`
	MaxAge  int      `json:"max_age"`
}

// ProblemFor returns the problem details for err as answered to r. Errors
// that are not an [*Error] (after unwrapping) become a 500 "internal"
// problem without detail, except [http.MaxBytesError] (413).
func ProblemFor(r *http.Request, err error) Problem {
	e := asError(err)
	p := Problem{
		Type:   ProblemBase + e.slug(),
		Title:  e.title(),
		Status: e.status(),
		Detail: e.Detail,
		StepUp: e.StepUp,
	}
	if r != nil {
		p.Instance = r.URL.Path
		p.RequestID = RequestID(r.Context())
	}
	return p
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &Error{Kind: KindTooLarge, Detail: "request body exceeds " + strconv.FormatInt(mb.Limit, 10) + " bytes", Err: err}
	}
	return &Error{Kind: KindInternal, Err: err}
}

// WriteProblem answers r with the RFC 9457 problem for err and logs it
// with the request's logger: 5xx at error level with the cause, 4xx at
// debug level. It sets Retry-After when err carries one (see
// [RetryAfterError]) and is headers-already-written safe only in that it
// never panics; callers MUST NOT have written the body.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(r, err)
	ctx := r.Context()
	if p.Status >= 500 {
		Logger(ctx).ErrorContext(ctx, "request failed", "status", p.Status, "type", p.Type, "error", err.Error())
	} else {
		Logger(ctx).DebugContext(ctx, "request refused", "status", p.Status, "type", p.Type)
	}
	var ra interface{ RetryAfter() int }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
	}
	b, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Del("Content-Encoding")
	if p.StepUp != nil {
		// RFC 9470's challenge, for clients that read the header.
		h.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="a recent strong authentication is required", max_age=`+strconv.Itoa(p.StepUp.MaxAge))
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(b, '\n'))
}

// RetryAfterError is an error that tells the client how many seconds to
// wait before retrying; [WriteProblem] sends it as Retry-After (RFC 9110
// §10.2.3).
type RetryAfterError struct {
	Err     *Error
	Seconds int
}

// Error returns the wrapped error's text.
func (e *RetryAfterError) Error() string { return e.Err.Error() }

// RetryAfter returns the delay in seconds.
func (e *RetryAfterError) RetryAfter() int { return e.Seconds }

// Unwrap returns the wrapped *Error.
func (e *RetryAfterError) Unwrap() error { return e.Err }
