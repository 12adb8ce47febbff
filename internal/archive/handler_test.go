package archive_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/archive"
)

// TestStatusRoute: the platform administrator reads the status as JSON;
// a tenant's principal is refused; without the service the route says it
// is not configured. The route is the OpenAPI fragment's, with its action.
func TestStatusRoute(t *testing.T) {
	f := newFixture(t)
	f.completed("t1")
	s := f.service(nil)
	f.clock.Set(f.start.Add(2*365*day - margin + day))
	f.archTS.failing.Store(true)
	f.runOnce(s, archive.Result{Checked: 1, Overdue: 1, Failed: 1})

	doc, err := api.MergeOpenAPI(api.OpenAPIBase, archive.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	if a := access["GET /v1/archive/status"]; a.Action != "tenant.admin" {
		t.Fatalf("declared access %+v", a)
	}
	get := func(h *archive.Handler, p *api.Principal) (*httptest.ResponseRecorder, map[string]any) {
		rt := api.NewRouter()
		h.Register(rt)
		r := httptest.NewRequest(http.MethodGet, "/v1/archive/status", nil)
		if p != nil {
			r = r.WithContext(api.WithPrincipal(r.Context(), *p))
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		return w, body
	}
	platform := &api.Principal{Kind: api.PrincipalAPIKey, ID: "key-platform", Platform: true}
	w, body := get(&archive.Handler{Service: s}, platform)
	if w.Code != http.StatusOK || body["overdue"] != float64(1) || body["failed_total"] != float64(1) || body["renewed_total"] != float64(0) || body["last_run"] == nil || body["next_due"] != nil {
		t.Fatalf("platform: %d %s", w.Code, w.Body)
	}
	if w, _ := get(&archive.Handler{Service: s}, &api.Principal{Kind: api.PrincipalAPIKey, ID: "key-t1", Tenant: "t1"}); w.Code != http.StatusForbidden {
		t.Fatalf("tenant principal: %d %s", w.Code, w.Body)
	}
	if w, _ := get(&archive.Handler{Service: s}, nil); w.Code != http.StatusForbidden {
		t.Fatalf("no principal: %d %s", w.Code, w.Body)
	}
	if w, _ := get(&archive.Handler{}, platform); w.Code != http.StatusNotFound {
		t.Fatalf("disabled: %d %s", w.Code, w.Body)
	}
}
