package workflow_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity/password"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestRecipientAuthLevels creates envelopes through the API with every
// authentication level, with and without the fields each needs and the
// switches that allow it, on servers with and without an SMS gateway and
// the link-only option. A refused draft stores nothing and records
// nothing; an accepted one shows the level (and the phone number), never
// an access code or its hash.
func TestRecipientAuthLevels(t *testing.T) {
	const accessCode = "Blue-Harbour-7391"
	type server struct{ sms, linkOnly bool }
	tests := []struct {
		name      string
		server    server
		envelope  map[string]any // extra envelope fields
		recipient map[string]any // extra recipient fields
		status    int
		problem   string // problem type of a refusal
		detail    string // a word the refusal's detail holds
		auth      string // the level stored
		phone     string
	}{
		{name: "default", auth: workflow.AuthEmailCode, status: 201},
		{name: "email_code", recipient: map[string]any{"auth": "email_code"}, auth: workflow.AuthEmailCode, status: 201},
		{name: "legacy email_otp", recipient: map[string]any{"auth": "email_otp"}, auth: workflow.AuthEmailCode, status: 201},
		{name: "unknown level", recipient: map[string]any{"auth": "sms"}, status: 422, problem: "invalid-request"},
		{name: "unknown envelope level", envelope: map[string]any{"auth": "carrier_pigeon"}, status: 422, problem: "invalid-request"},

		{name: "sms_code", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code", "phone": "+41791234567"},
			auth: workflow.AuthSMSCode, phone: "+41791234567", status: 201},
		{name: "sms_code from the envelope's default", server: server{sms: true}, envelope: map[string]any{"auth": "sms_code"},
			recipient: map[string]any{"phone": "+14155550123"}, auth: workflow.AuthSMSCode, phone: "+14155550123", status: 201},
		{name: "sms_code without a gateway", recipient: map[string]any{"auth": "sms_code", "phone": "+41791234567"},
			status: 422, problem: "recipient-auth-unavailable", detail: "sms_gateway"},
		{name: "sms_code without phone", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code"}, status: 422, problem: "invalid-request", detail: "E.164"},
		{name: "sms_code national number", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code", "phone": "0791234567"}, status: 422, problem: "invalid-request"},
		{name: "sms_code with spaces", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code", "phone": "+41 79 123 45 67"}, status: 422, problem: "invalid-request"},
		{name: "sms_code 16 digits", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code", "phone": "+4179123456789012"}, status: 422, problem: "invalid-request"},
		{name: "sms_code leading zero", server: server{sms: true}, recipient: map[string]any{"auth": "sms_code", "phone": "+0791234567"}, status: 422, problem: "invalid-request"},
		{name: "phone without sms_code", server: server{sms: true}, recipient: map[string]any{"phone": "+41791234567"}, status: 422, problem: "invalid-request"},

		{name: "access_code", recipient: map[string]any{"auth": "access_code", "access_code": accessCode}, auth: workflow.AuthAccessCode, status: 201},
		{name: "access_code missing", recipient: map[string]any{"auth": "access_code"}, status: 422, problem: "invalid-request"},
		{name: "access_code too short", recipient: map[string]any{"auth": "access_code", "access_code": "12345"}, status: 422, problem: "invalid-request"},
		{name: "access_code too long", recipient: map[string]any{"auth": "access_code", "access_code": strings.Repeat("x", 65)}, status: 422, problem: "invalid-request"},
		{name: "access_code with a line break", recipient: map[string]any{"auth": "access_code", "access_code": "abc\ndefgh"}, status: 422, problem: "invalid-request"},
		{name: "access_code with surrounding space", recipient: map[string]any{"auth": "access_code", "access_code": " abcdefgh"}, status: 422, problem: "invalid-request"},
		{name: "access_code without its level", recipient: map[string]any{"access_code": accessCode}, status: 422, problem: "invalid-request"},

		{name: "link_only refused by default", recipient: map[string]any{"auth": "link_only"}, status: 422, problem: "invalid-request", detail: "allow_link_only"},
		{name: "link_only without the envelope's consent", server: server{linkOnly: true}, recipient: map[string]any{"auth": "link_only"},
			status: 422, problem: "invalid-request", detail: "allow_link_only"},
		{name: "link_only without the service option", envelope: map[string]any{"allow_link_only": true}, recipient: map[string]any{"auth": "link_only"},
			status: 422, problem: "recipient-auth-unavailable", detail: "allow_link_only_recipients"},
		{name: "link_only with both switches", server: server{linkOnly: true}, envelope: map[string]any{"allow_link_only": true},
			recipient: map[string]any{"auth": "link_only"}, auth: workflow.AuthLinkOnly, status: 201},

		{name: "passkey", recipient: map[string]any{"auth": "passkey"}, auth: workflow.AuthPasskey, status: 201},
		{name: "totp", recipient: map[string]any{"auth": "totp"}, auth: workflow.AuthTOTP, status: 201},
		{name: "totp with a phone", server: server{sms: true}, recipient: map[string]any{"auth": "totp", "phone": "+41791234567"}, status: 422, problem: "invalid-request", detail: "phone"},
		{name: "totp with an access code", recipient: map[string]any{"auth": "totp", "access_code": accessCode}, status: 422, problem: "invalid-request", detail: "access_code"},

		{name: "high assurance with a passkey signer", envelope: map[string]any{"high_assurance": true},
			recipient: map[string]any{"auth": "passkey"}, auth: workflow.AuthPasskey, status: 201},
		{name: "high assurance with passkey from the envelope's default", envelope: map[string]any{"high_assurance": true, "auth": "passkey"},
			auth: workflow.AuthPasskey, status: 201},
		{name: "high assurance with a totp signer", envelope: map[string]any{"high_assurance": true},
			recipient: map[string]any{"auth": "totp"}, auth: workflow.AuthTOTP, status: 201},
		{name: "high assurance with totp from the envelope's default", envelope: map[string]any{"high_assurance": true, "auth": "totp"},
			auth: workflow.AuthTOTP, status: 201},
		{name: "high assurance with an email_code signer", envelope: map[string]any{"high_assurance": true},
			recipient: map[string]any{"auth": "email_code"}, status: 422, problem: "high-assurance-needs-passkey", detail: `"email_code"`},
		{name: "high assurance with the default level", envelope: map[string]any{"high_assurance": true},
			status: 422, problem: "high-assurance-needs-passkey", detail: "recipients[0]"},
		{name: "high assurance with an sms_code signer", server: server{sms: true}, envelope: map[string]any{"high_assurance": true},
			recipient: map[string]any{"auth": "sms_code", "phone": "+41791234567"}, status: 422, problem: "high-assurance-needs-passkey", detail: `"sms_code"`},
		{name: "high assurance with an access_code signer", envelope: map[string]any{"high_assurance": true},
			recipient: map[string]any{"auth": "access_code", "access_code": accessCode}, status: 422, problem: "high-assurance-needs-passkey", detail: `"access_code"`},
		{name: "high assurance with a link_only signer", server: server{linkOnly: true}, envelope: map[string]any{"high_assurance": true, "allow_link_only": true},
			recipient: map[string]any{"auth": "link_only"}, status: 422, problem: "high-assurance-needs-passkey", detail: `"link_only"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvConfig(t, func(c *workflow.Config) { c.SMSGateway, c.AllowLinkOnly = tt.server.sms, tt.server.linkOnly })
			d := e.upload("t1", "one")
			r := map[string]any{"role": "signer", "name": "A", "email": "a@example.com", "routing_order": 1}
			for k, v := range tt.recipient {
				r[k] = v
			}
			body := map[string]any{"subject": "Sign", "documents": []string{d.ID}, "recipients": []any{r}}
			for k, v := range tt.envelope {
				body[k] = v
			}
			before := e.counts()
			resp, b := e.doJSON("t1", "POST", "/v1/envelopes", body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if strings.Contains(string(b), accessCode) || strings.Contains(string(b), "argon2") {
				t.Fatalf("the answer shows the access code or its hash: %s", b)
			}
			if tt.status != http.StatusCreated {
				p := problem(t, resp, b)
				if p.Type != api.ProblemBase+tt.problem || !strings.Contains(p.Detail, tt.detail) {
					t.Fatalf("problem %s %q, want %s naming %q", p.Type, p.Detail, tt.problem, tt.detail)
				}
				if after := e.counts(); after != before {
					t.Fatalf("stored something: %+v → %+v", before, after)
				}
				return
			}
			var got struct {
				ID            string `json:"id"`
				AllowLinkOnly bool   `json:"allow_link_only"`
				Recipients    []map[string]any
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if a, p := got.Recipients[0]["auth"], got.Recipients[0]["phone"]; a != tt.auth || (tt.phone != "" && p != tt.phone) || (tt.phone == "" && p != nil) {
				t.Fatalf("recipient shown as %v", got.Recipients[0])
			}
			if got.AllowLinkOnly != (tt.envelope["allow_link_only"] == true) {
				t.Fatalf("allow_link_only shown as %v", got.AllowLinkOnly)
			}
			stored := e.get(got.ID)
			sr := stored.Recipients[0]
			if sr.Auth != tt.auth || sr.Phone != tt.phone {
				t.Fatalf("stored recipient %+v", sr)
			}
			if tt.auth == workflow.AuthAccessCode {
				if ok, err := password.Verify(accessCode, sr.AccessCodeHash); err != nil || !ok {
					t.Fatalf("the stored hash does not verify the access code: %v %v", ok, err)
				}
				if ok, _ := password.Verify(accessCode+"x", sr.AccessCodeHash); ok {
					t.Fatal("the stored hash verifies another code")
				}
				if n := secretscan.Check(t, e.dir, accessCode); n == 0 {
					t.Fatal("no file scanned")
				}
				n, _ := e.audit.Size(t.Context())
				recs, err := e.audit.Records(t.Context(), 0, n)
				if err != nil || len(recs) == 0 {
					t.Fatalf("audit records: %d, %v", len(recs), err)
				}
				for _, r := range recs {
					for _, f := range secretscan.Forms(accessCode) {
						if strings.Contains(string(r.Leaf), string(f)) {
							t.Fatalf("audit event %s holds the access code", r.Type)
						}
					}
				}
			} else if sr.AccessCodeHash != "" {
				t.Fatalf("a %s recipient has an access-code hash", sr.Auth)
			}
		})
	}
}
