package auditview

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

// FuzzEventsQuery: any query string either gives a query within the
// bounds (after ≥ -1, limit 1 to MaxLimit) or is refused with a 422
// problem.
func FuzzEventsQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest("GET", "/v1/audit/events", nil)
		req.URL.RawQuery = raw
		if _, err := url.ParseQuery(raw); err != nil {
			return
		}
		q, err := parseQuery(req)
		if err != nil {
			if e, ok := err.(*api.Error); !ok || e.Kind != api.KindInvalid {
				t.Fatalf("parseQuery(%q): %v, want a 422 problem", raw, err)
			}
			return
		}
		if q.After < -1 || q.Limit < 1 || q.Limit > MaxLimit {
			t.Fatalf("parseQuery(%q) = %+v", raw, q)
		}
	})
}
