package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MaxJSONBody is the default limit of a JSON request body, 1 MiB.
const MaxJSONBody = 1 << 20

// DecodeJSON decodes r's body, which must be a single JSON value of media
// type application/json no larger than [MaxJSONBody], into v, with
// [UnmarshalStrict]: unknown fields, duplicate keys, keys that match a
// field only case-insensitively, trailing data, excess nesting and syntax
// errors are refused. The returned error is an [*Error] ready for
// [WriteProblem]: 415 "unsupported-media-type", 400 "malformed-json",
// "duplicate-key" or "key-case-mismatch", 422 "unknown-field" or
// "invalid-json", or 413.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return DecodeJSONLimit(w, r, v, MaxJSONBody)
}

// DecodeJSONLimit is [DecodeJSON] with an explicit body limit in bytes.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &Error{Kind: KindUnsupportedMedia, Detail: "the request body must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err)
	}
	if err := UnmarshalStrict(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	// A read error that is already a problem (a body cut off for arriving
	// too slowly, 408) is answered as it is.
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var mb *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var key *JSONKeyError
	switch {
	case errors.As(err, &mb):
		return &Error{Kind: KindTooLarge, Detail: "request body exceeds " + strconv.FormatInt(mb.Limit, 10) + " bytes", Err: err}
	case errors.As(err, &key):
		detail := strings.TrimPrefix(key.Error(), "json: ")
		switch key.Reason {
		case KeyDuplicate:
			return &Error{Kind: KindInvalid, Type: "duplicate-key", Title: "Duplicate key", Status: http.StatusBadRequest, Detail: detail, Err: err}
		case KeyCaseMismatch:
			return &Error{Kind: KindInvalid, Type: "key-case-mismatch", Title: "Key differs from a field in case", Status: http.StatusBadRequest, Detail: detail, Err: err}
		}
		return &Error{Kind: KindInvalid, Type: "unknown-field", Detail: detail, Err: err}
	case errors.Is(err, ErrJSONTrailingData):
		return &Error{Kind: KindInvalid, Type: "malformed-json", Status: http.StatusBadRequest, Detail: "trailing data after the JSON object"}
	case errors.Is(err, ErrJSONTooDeep):
		return &Error{Kind: KindInvalid, Type: "malformed-json", Status: http.StatusBadRequest, Detail: "the JSON is nested deeper than " + strconv.Itoa(MaxJSONDepth) + " levels"}
	case errors.Is(err, io.EOF):
		return &Error{Kind: KindInvalid, Type: "malformed-json", Status: http.StatusBadRequest, Detail: "empty request body"}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syn):
		return &Error{Kind: KindInvalid, Type: "malformed-json", Status: http.StatusBadRequest, Detail: "the request body is not valid JSON", Err: err}
	case errors.As(err, &typ):
		return &Error{Kind: KindInvalid, Type: "invalid-json", Detail: fmt.Sprintf("field %q has the wrong type", typ.Field), Err: err}
	}
	const unknown = "json: unknown field "
	if s := err.Error(); len(s) > len(unknown) && s[:len(unknown)] == unknown {
		return &Error{Kind: KindInvalid, Type: "unknown-field", Detail: "unknown field " + s[len(unknown):], Err: err}
	}
	return &Error{Kind: KindInvalid, Type: "malformed-json", Status: http.StatusBadRequest, Detail: "the request body is not valid JSON", Err: err}
}

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.Header().Set("Content-Type", ContentTypeProblem)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"type":"` + ProblemBase + `internal","title":"Internal error","status":500}` + "\n"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
