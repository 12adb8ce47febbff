package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ActionExtension is the OpenAPI extension that names the action an
// operation performs ("envelope.send"); internal/authz defines the
// actions. An operation open to anyone declares "security": [] instead.
const ActionExtension = "x-signet-action"

// Access is what one operation of an OpenAPI document declares about who
// may call it: the action it performs, or that it is public. Its zero
// value declares nothing.
type Access struct {
	// Action is the operation's x-signet-action ("" when absent), not
	// checked against the known actions.
	Action string
	// Public is set when the operation declares "security": [] (no
	// credentials at all).
	Public bool
}

// Declared reports whether a declares exactly one of an action and public.
func (a Access) Declared() bool { return (a.Action != "") != a.Public }

// OpenAPIAccess returns, for each operation of an OpenAPI document, keyed
// by its ServeMux pattern ("GET /v1/envelopes/{id}", as [OpenAPIRoutes]
// names it), what it declares about its callers. An operation that
// declares nothing maps to the zero Access, which the caller refuses; one
// whose x-signet-action is not a non-empty string, or whose security is
// neither absent nor an array, is an error, and so is a public operation
// that also names an action.
func OpenAPIAccess(doc []byte) (map[string]Access, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	out := map[string]Access{}
	var errs []string
	for p, ops := range d.Paths {
		for m, raw := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			pattern := strings.ToUpper(m) + " " + p
			a, err := operationAccess(raw)
			if err != nil {
				errs = append(errs, pattern+": "+err.Error())
				continue
			}
			out[pattern] = a
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("api: openapi: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func operationAccess(raw json.RawMessage) (Access, error) {
	var op struct {
		Action   json.RawMessage `json:"x-signet-action"`
		Security json.RawMessage `json:"security"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		return Access{}, fmt.Errorf("operation is not an object")
	}
	var a Access
	if op.Action != nil {
		if err := json.Unmarshal(op.Action, &a.Action); err != nil || a.Action == "" {
			return Access{}, fmt.Errorf("%s is not a non-empty string", ActionExtension)
		}
	}
	if op.Security != nil {
		var sec []json.RawMessage
		if err := json.Unmarshal(op.Security, &sec); err != nil || sec == nil {
			return Access{}, fmt.Errorf("security is not an array")
		}
		a.Public = len(sec) == 0
	}
	if a.Public && a.Action != "" {
		return Access{}, fmt.Errorf("a public operation (security: []) names action %q", a.Action)
	}
	return a, nil
}
