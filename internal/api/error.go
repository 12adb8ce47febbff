package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// A Kind classifies an error independently of HTTP; [WriteProblem] maps it
// to a status code.
type Kind int

// The kinds of errors domain packages report.
const (
	// KindInternal is an unexpected failure (500); it is the zero Kind.
	KindInternal Kind = iota
	// KindInvalid is a request the server understood but refuses (422), or
	// one it could not parse (400 when Type is "malformed-json").
	KindInvalid
	// KindUnauthorized is missing or invalid credentials (401).
	KindUnauthorized
	// KindForbidden is valid credentials refused the action (403).
	KindForbidden
	// KindNotFound is an object that does not exist for this principal (404).
	KindNotFound
	// KindConflict is an action invalid in the object's current state (409).
	KindConflict
	// KindTooLarge is a request body over its limit (413).
	KindTooLarge
	// KindUnsupportedMedia is a body of the wrong content type (415).
	KindUnsupportedMedia
	// KindRateLimited is a request over its rate limit (429).
	KindRateLimited
	// KindUnavailable is a dependency that is down (503).
	KindUnavailable
)

var kindInfo = map[Kind]struct {
	status int
	slug   string
	title  string
}{
	KindInternal:         {http.StatusInternalServerError, "internal", "Internal error"},
	KindInvalid:          {http.StatusUnprocessableEntity, "invalid-request", "Invalid request"},
	KindUnauthorized:     {http.StatusUnauthorized, "unauthorized", "Authentication required"},
	KindForbidden:        {http.StatusForbidden, "forbidden", "Forbidden"},
	KindNotFound:         {http.StatusNotFound, "not-found", "Not found"},
	KindConflict:         {http.StatusConflict, "conflict", "Conflict"},
	KindTooLarge:         {http.StatusRequestEntityTooLarge, "too-large", "Request too large"},
	KindUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	KindRateLimited:      {http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	KindUnavailable:      {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
}

// Status returns the HTTP status code for k.
func (k Kind) Status() int {
	if i, ok := kindInfo[k]; ok {
		return i.status
	}
	return http.StatusInternalServerError
}

// String returns the default problem type slug of k, e.g. "not-found".
func (k Kind) String() string {
	if i, ok := kindInfo[k]; ok {
		return i.slug
	}
	return "internal"
}

// An Error is a domain error with an HTTP-agnostic [Kind]. Domain packages
// return it (or wrap it) so that [WriteProblem] can answer with the right
// RFC 9457 problem.
type Error struct {
	// Kind decides the HTTP status.
	Kind Kind
	// Type is the stable slug of the problem type URI
	// (https://signet.dev/problems/<Type>); empty means Kind's default.
	Type string
	// Title is a short, human-readable summary of the problem type; empty
	// means Kind's default.
	Title string
	// Detail explains this occurrence to the client. It MUST NOT contain
	// secrets or internal error text.
	Detail string
	// Status overrides Kind's status when non-zero (e.g. 400 for a
	// KindInvalid syntax error).
	Status int
	// Err is the underlying cause; it is logged, never sent.
	Err error
	// StepUp, on a 401 "step-up-required", names the authentication the
	// action needs.
	StepUp *StepUp
}

// Error returns the detail, or the kind, with the cause.
func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.slug()
	}
	if e.Err != nil {
		return fmt.Sprintf("api: %s: %v", msg, e.Err)
	}
	return "api: " + msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same Kind and Type, so
// that sentinels such as [ErrUnauthorized] work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && (t.Type == "" || t.Type == e.Type)
}

func (e *Error) slug() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Kind.String()
}

func (e *Error) status() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.Status()
}

func (e *Error) title() string {
	if e.Title != "" {
		return e.Title
	}
	if i, ok := kindInfo[e.Kind]; ok {
		return i.title
	}
	return "Internal error"
}

// Sentinels for the conditions callers branch on. Match them with
// errors.Is; it compares Kind (and Type when the sentinel sets one).
var (
	ErrUnauthorized = &Error{Kind: KindUnauthorized}
	ErrForbidden    = &Error{Kind: KindForbidden}
	ErrNotFound     = &Error{Kind: KindNotFound}
	ErrConflict     = &Error{Kind: KindConflict}
	ErrRateLimited  = &Error{Kind: KindRateLimited}
	ErrUnavailable  = &Error{Kind: KindUnavailable}
)

// Errorf returns an *Error of kind k whose detail is formatted from format
// and args. A %w verb sets Err (and its text is left out of the detail).
func Errorf(k Kind, format string, args ...any) *Error {
	wrapped := fmt.Errorf(format, args...)
	detail := wrapped.Error()
	var cause error
	if u, ok := wrapped.(interface{ Unwrap() error }); ok {
		cause = u.Unwrap()
	} else if u, ok := wrapped.(interface{ Unwrap() []error }); ok {
		cause = errors.Join(u.Unwrap()...)
	}
	if cause != nil {
		// Keep the cause out of the client-facing detail.
		detail = fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), redact(args)...)
	}
	return &Error{Kind: k, Detail: detail, Err: cause}
}

func redact(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if _, ok := a.(error); ok {
			out[i] = "(see logs)"
		} else {
			out[i] = a
		}
	}
	return out
}
