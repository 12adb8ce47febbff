package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// OpenAPIBase is the skeleton of the OpenAPI 3.1 document: info, security
// schemes and the shared Problem schema and responses.
//
//go:embed openapi/base.json
var OpenAPIBase []byte

// OpenAPI is this package's fragment: the probes and the document itself.
//
//go:embed openapi/platform.json
var OpenAPI []byte

// MergeOpenAPI merges fragments into base. A fragment is a JSON object
// with "paths" and "components" members; the same path may appear in
// several fragments with distinct methods, and a component may be defined
// twice only identically.
func MergeOpenAPI(base []byte, fragments ...[]byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi base: %w", err)
	}
	paths := object(doc, "paths")
	comps := object(doc, "components")
	for i, f := range fragments {
		var frag map[string]any
		if err := json.Unmarshal(f, &frag); err != nil {
			return nil, fmt.Errorf("api: openapi fragment %d: %w", i, err)
		}
		for p, item := range object(frag, "paths") {
			ops, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("api: openapi fragment %d: path %s is not an object", i, p)
			}
			dst := object(paths, p)
			for m, op := range ops {
				if _, dup := dst[m]; dup {
					return nil, fmt.Errorf("api: openapi fragment %d: %s %s defined twice", i, strings.ToUpper(m), p)
				}
				dst[m] = op
			}
		}
		for section, defs := range object(frag, "components") {
			src, ok := defs.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("api: openapi fragment %d: components.%s is not an object", i, section)
			}
			dst := object(comps, section)
			for name, def := range src {
				if old, dup := dst[name]; dup && !sameJSON(old, def) {
					return nil, fmt.Errorf("api: openapi fragment %d: components.%s.%s defined differently twice", i, section, name)
				}
				dst[name] = def
			}
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// object returns m[k] as an object, creating it if absent.
func object(m map[string]any, k string) map[string]any {
	if o, ok := m[k].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[k] = o
	return o
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// OpenAPIRoutes returns the operations of an OpenAPI document as Go
// ServeMux patterns ("GET /v1/envelopes/{id}"), sorted.
func OpenAPIRoutes(doc []byte) ([]string, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	var out []string
	for p, ops := range d.Paths {
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// ServeOpenAPI returns a handler serving doc as application/json.
func ServeOpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
}
