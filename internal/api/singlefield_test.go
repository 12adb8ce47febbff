package api_test

import (
	"io"
	"net/http"
	"testing"
)

// TestRepeatedSingletonFields: a request with two Authorization or two
// Idempotency-Key fields is refused with a 400 problem whatever their
// order, as duplicate JSON keys are: a proxy in front may read the other
// one. One of each is served.
func TestRepeatedSingletonFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	secret, _ := e.key(e.tenant("A"))
	tests := []struct {
		name   string
		fields [][2]string
		status int
	}{
		{"one authorization", [][2]string{{"Authorization", "Bearer " + secret}}, http.StatusOK},
		{"valid then invalid authorization", [][2]string{{"Authorization", "Bearer " + secret}, {"Authorization", "Bearer tk_other"}}, http.StatusBadRequest},
		{"invalid then valid authorization", [][2]string{{"Authorization", "Bearer tk_other"}, {"Authorization", "Bearer " + secret}}, http.StatusBadRequest},
		{"two idempotency keys", [][2]string{{"Authorization", "Bearer " + secret}, {"Idempotency-Key", "a"}, {"Idempotency-Key", "b"}}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.srv.URL+"/v1/whoami", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.fields {
				req.Header.Add(f[0], f[1])
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusBadRequest {
				checkProblem(t, resp{status: res.StatusCode, header: res.Header, body: body}, tc.status, "repeated-field", "/v1/whoami")
			}
		})
	}
}
