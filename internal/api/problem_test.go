package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

type echoBody struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func echoRoutes(mux api.Mux, _ *env) {
	mux.HandleFunc("POST /v1/recipient/echo", func(w http.ResponseWriter, r *http.Request) {
		var b echoBody
		if err := api.DecodeJSON(w, r, &b); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, b)
	})
	mux.HandleFunc("GET /v1/recipient/conflict", func(w http.ResponseWriter, r *http.Request) {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Type: "invalid-transition", Detail: "envelope is voided"})
	})
	mux.HandleFunc("GET /v1/recipient/secret-error", func(w http.ResponseWriter, r *http.Request) {
		api.WriteProblem(w, r, errors.New("database password=hunter2 refused"))
	})
	mux.HandleFunc("GET /v1/recipient/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	})
	mux.HandleFunc("GET /v1/recipient/wrapped", func(w http.ResponseWriter, r *http.Request) {
		api.WriteProblem(w, r, api.Errorf(api.KindNotFound, "envelope %s: %w", "e1", errors.New("sql: no rows")))
	})
}

func TestProblems(t *testing.T) {
	e := newEnv(t, envOptions{extra: echoRoutes})
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, method, path, body, ctype string
		status                          int
		slug                            string
	}{
		{"unknown field", "POST", "/v1/recipient/echo", `{"name":"a","admin":true}`, "application/json", 422, "unknown-field"},
		{"wrong type", "POST", "/v1/recipient/echo", `{"count":"x"}`, "application/json", 422, "invalid-json"},
		{"malformed", "POST", "/v1/recipient/echo", `{"name":`, "application/json", 400, "malformed-json"},
		{"not an object", "POST", "/v1/recipient/echo", `[1]`, "application/json", 422, "invalid-json"},
		{"trailing data", "POST", "/v1/recipient/echo", `{"name":"a"} {}`, "application/json", 400, "malformed-json"},
		{"empty", "POST", "/v1/recipient/echo", ``, "application/json", 400, "malformed-json"},
		{"wrong content type", "POST", "/v1/recipient/echo", `{"name":"a"}`, "text/plain", 415, "unsupported-media-type"},
		{"too large", "POST", "/v1/recipient/echo", big, "application/json", 413, "too-large"},
		{"kind with type", "GET", "/v1/recipient/conflict", "", "", 409, "invalid-transition"},
		{"internal", "GET", "/v1/recipient/secret-error", "", "", 500, "internal"},
		{"panic", "GET", "/v1/recipient/panic", "", "", 500, "internal"},
		{"wrapped cause", "GET", "/v1/recipient/wrapped", "", "", 404, "not-found"},
		{"no route", "GET", "/v1/nothing-here", "", "", 401, "unauthorized"},
		{"unauthenticated", "GET", "/v1/whoami", "", "", 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := e.doRaw(tc.method, tc.path, tc.body, tc.ctype)
			checkProblem(t, rr, tc.status, tc.slug, tc.path)
			if strings.Contains(string(rr.body), "hunter2") || strings.Contains(string(rr.body), "sql: no rows") {
				t.Errorf("internal error text leaked: %s", rr.body)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "hunter2") {
		t.Error("the internal error was not logged")
	}
	// The valid request passes.
	r := e.doRaw("POST", "/v1/recipient/echo", `{"name":"a","count":2}`, "application/json")
	if r.status != 200 || !strings.Contains(string(r.body), `"count":2`) {
		t.Fatalf("valid request: %d %s", r.status, r.body)
	}
}

func (e *env) doRaw(method, path, body, ctype string) resp {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func TestErrorIs(t *testing.T) {
	err := &api.Error{Kind: api.KindNotFound, Type: "envelope-not-found"}
	wrapped := errors.Join(errors.New("ctx"), err)
	if !errors.Is(wrapped, api.ErrNotFound) {
		t.Error("a not-found error is not ErrNotFound")
	}
	if errors.Is(wrapped, api.ErrConflict) {
		t.Error("a not-found error is ErrConflict")
	}
	if errors.Is(err, &api.Error{Kind: api.KindNotFound, Type: "other"}) {
		t.Error("types do not distinguish")
	}
	for k := api.KindInternal; k <= api.KindUnavailable; k++ {
		if k.Status() < 400 || k.String() == "" {
			t.Errorf("kind %d: status %d slug %q", k, k.Status(), k.String())
		}
	}
}
