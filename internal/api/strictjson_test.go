package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// nestedBody exercises nested objects, arrays, maps, an embedded struct,
// a custom decoder (time.Time) and a free-form value.
type nestedBody struct {
	Name  string         `json:"name"`
	Kind  string         `json:"kind"`
	Items []nestedItem   `json:"items"`
	Meta  map[string]int `json:"meta"`
	Inner *struct {
		Flag bool `json:"flag"`
	} `json:"inner"`
	When  time.Time `json:"when"`
	Extra any       `json:"extra"`
	Skip  string    `json:"-"`
	nestedEmbedded
}

type nestedItem struct {
	Label string `json:"label"`
	Size  int    `json:"size"`
}

type nestedEmbedded struct {
	Note string `json:"note"`
	// Plain has no tag: its JSON name is "Plain".
	Plain int
}

func nestedRoute(mux api.Mux, _ *env) {
	mux.HandleFunc("POST /v1/recipient/nested", func(w http.ResponseWriter, r *http.Request) {
		var b nestedBody
		if err := api.DecodeJSON(w, r, &b); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, b)
	})
}

// TestStrictJSONKeys sends bodies through a real handler: duplicate keys
// (at any depth) and keys that match a field only when case is folded
// the way encoding/json folds it are refused with a 400 problem naming
// the key; valid bodies pass.
func TestStrictJSONKeys(t *testing.T) {
	e := newEnv(t, envOptions{extra: nestedRoute})
	const path = "/v1/recipient/nested"
	tests := []struct {
		name, body string
		status     int
		slug       string
		mention    string // the problem detail names it
	}{
		{"duplicate top-level", `{"name":"a","name":"b"}`, 400, "duplicate-key", `"name"`},
		{"duplicate with escapes", `{"name":"a","n\u0061me":"b"}`, 400, "duplicate-key", `"name"`},
		{"duplicate nested object", `{"inner":{"flag":true,"flag":false}}`, 400, "duplicate-key", `"flag" in inner`},
		{"duplicate in array element", `{"items":[{"label":"x"},{"size":1,"size":2}]}`, 400, "duplicate-key", `"size" in items[1]`},
		{"duplicate map key", `{"meta":{"a":1,"a":2}}`, 400, "duplicate-key", `"a" in meta`},
		{"duplicate in free value", `{"extra":{"x":{"y":1,"y":1}}}`, 400, "duplicate-key", `"y" in extra.x`},
		{"duplicate embedded field", `{"note":"a","note":"b"}`, 400, "duplicate-key", `"note"`},
		{"case variant", `{"Name":"a"}`, 400, "key-case-mismatch", `"Name"`},
		{"case variant beside exact", `{"name":"a","NAME":"b"}`, 400, "key-case-mismatch", `"NAME"`},
		{"case variant nested", `{"items":[{"Label":"x"}]}`, 400, "key-case-mismatch", `"Label" in items[0]`},
		{"case variant of untagged field", `{"plain":1}`, 400, "key-case-mismatch", `"plain"`},
		{"long s folds to s", `{"items":[{"ſize":1}]}`, 400, "key-case-mismatch", `"ſize"`},
		{"Kelvin sign folds to k", `{"\u212Aind":"x"}`, 400, "key-case-mismatch", "\"\u212Aind\""},
		{"unknown", `{"name":"a","admin":true}`, 422, "unknown-field", `"admin"`},
		{"unknown nested", `{"inner":{"flag":true,"root":true}}`, 422, "unknown-field", `"root" in inner`},
		{"ignored field", `{"Skip":"x"}`, 422, "unknown-field", `"Skip"`},
		{"too deep", `{"extra":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 400, "malformed-json", "nested"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doRaw("POST", path, tc.body, "application/json")
			checkProblem(t, r, tc.status, tc.slug, path)
			var p api.Problem
			r.json(t, &p)
			if !strings.Contains(p.Detail, tc.mention) {
				t.Errorf("detail %q does not mention %s", p.Detail, tc.mention)
			}
		})
	}
	valid := []struct{ name, body, want string }{
		{"all fields", `{"name":"a","kind":"k","items":[{"label":"x","size":1}],"meta":{"a":1,"A":2},"inner":{"flag":true},"when":"2026-01-02T03:04:05Z","extra":{"Any":[1,{"k":"v"}]},"note":"n","Plain":3}`,
			`"meta":{"A":2,"a":1}`},
		{"same key in sibling objects", `{"items":[{"label":"x"},{"label":"y"}],"inner":{"flag":false}}`, `"label":"y"`},
		{"nesting within bound", `{"extra":` + strings.Repeat("[", 60) + strings.Repeat("]", 60) + `}`, `"extra":[[`},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doRaw("POST", path, tc.body, "application/json")
			if r.status != http.StatusOK || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

// TestUnmarshalStrict checks the decoder that also reads the server's
// configuration file: the errors it returns and that accepted input
// decodes as encoding/json decodes it.
func TestUnmarshalStrict(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		reason api.KeyReason
		key    string
		err    error
	}{
		{"duplicate", `{"name":"a","name":"a"}`, api.KeyDuplicate, "name", nil},
		{"case", `{"NAME":"a"}`, api.KeyCaseMismatch, "NAME", nil},
		{"unknown", `{"x":1}`, api.KeyUnknown, "x", nil},
		{"trailing", `{"name":"a"}{}`, 0, "", api.ErrJSONTrailingData},
		{"deep", strings.Repeat(`{"extra":`, 70) + `1` + strings.Repeat(`}`, 70), 0, "", api.ErrJSONTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v nestedBody
			err := api.UnmarshalStrict([]byte(tc.data), &v)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			var ke *api.JSONKeyError
			if !errors.As(err, &ke) || ke.Reason != tc.reason || ke.Key != tc.key {
				t.Fatalf("error %#v, want reason %d key %q", err, tc.reason, tc.key)
			}
		})
	}
	// Syntax and type errors are encoding/json's.
	var v nestedBody
	var syn *json.SyntaxError
	if err := api.UnmarshalStrict([]byte(`{"name":}`), &v); !errors.As(err, &syn) {
		t.Errorf("syntax error: %v", err)
	}
	var typ *json.UnmarshalTypeError
	if err := api.UnmarshalStrict([]byte(`{"name":1}`), &v); !errors.As(err, &typ) {
		t.Errorf("type error: %v", err)
	}
	// Accepted input decodes as encoding/json decodes it.
	data := []byte(`{"name":"a","items":[{"label":"x"}],"meta":{"m":1},"inner":{"flag":true},"note":"n","Plain":2}`)
	var a, b nestedBody
	if err := api.UnmarshalStrict(data, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b); err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("strict %+v, encoding/json %+v, %v", a, b, err)
	}
	// Recursive types end.
	type node struct {
		Name     string  `json:"name"`
		Children []*node `json:"children"`
	}
	var n node
	if err := api.UnmarshalStrict([]byte(`{"name":"r","children":[{"name":"c","children":[{"name":"g"}]}]}`), &n); err != nil || n.Children[0].Children[0].Name != "g" {
		t.Fatalf("recursive: %v %+v", err, n)
	}
	var ke *api.JSONKeyError
	if err := api.UnmarshalStrict([]byte(`{"children":[{"children":[{"Name":"g"}]}]}`), &n); !errors.As(err, &ke) || ke.Path != "children[0].children[0]" {
		t.Fatalf("recursive case variant: %v", err)
	}
}
