package api_test

import (
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

func TestOpenAPIAccess(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		want    api.Access
		wantErr string
	}{
		{"action", `{"x-signet-action":"envelope.send"}`, api.Access{Action: "envelope.send"}, ""},
		{"action with its own security", `{"x-signet-action":"envelope.sign","security":[{"recipientSession":[]}]}`, api.Access{Action: "envelope.sign"}, ""},
		{"public", `{"security":[]}`, api.Access{Public: true}, ""},
		{"nothing", `{"summary":"x"}`, api.Access{}, ""},
		{"security only", `{"security":[{"apiKey":[]}]}`, api.Access{}, ""},
		{"public with an action", `{"security":[],"x-signet-action":"envelope.read"}`, api.Access{}, "public operation"},
		{"empty action", `{"x-signet-action":""}`, api.Access{}, "x-signet-action"},
		{"action not a string", `{"x-signet-action":["envelope.read"]}`, api.Access{}, "x-signet-action"},
		{"security null", `{"security":null}`, api.Access{}, "security"},
		{"security an object", `{"security":{}}`, api.Access{}, "security"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"paths":{"/v1/x/{id}":{"parameters":[],"post":` + tc.op + `}}}`
			got, err := api.OpenAPIAccess([]byte(doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "POST /v1/x/{id}") {
					t.Fatalf("err = %v, want one naming POST /v1/x/{id} and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got["POST /v1/x/{id}"] != tc.want {
				t.Fatalf("got %+v, want POST /v1/x/{id} → %+v", got, tc.want)
			}
			if declared := tc.want.Action != "" || tc.want.Public; got["POST /v1/x/{id}"].Declared() != declared {
				t.Errorf("Declared() = %v, want %v", !declared, declared)
			}
		})
	}
}
