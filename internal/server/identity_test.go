package server_test

import (
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/server"
)

// TestConfigIdentity: the identity and SMS settings are checked when the
// configuration is read, each refusal naming the setting.
func TestConfigIdentity(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"defaults", `{}`, ""},
		{"sessions", `{"identity":{"session_idle":"20m","session_absolute":"8h"}}`, ""},
		{"idle too short", `{"identity":{"session_idle":"10s"}}`, "identity.session_idle"},
		{"idle beyond absolute", `{"identity":{"session_idle":"2h","session_absolute":"1h"}}`, "identity.session_idle"},
		{"absolute too long", `{"identity":{"session_absolute":"200h"}}`, "identity.session_absolute"},
		{"origin not https", `{"identity":{"webauthn_origins":["http://sign.example.com"]}}`, "identity.webauthn_origins[0]"},
		{"origin with a path", `{"identity":{"webauthn_origins":["https://sign.example.com/x"]}}`, "identity.webauthn_origins[0]"},
		{"provider", `{"identity":{"oidc":[{"name":"corp","tenant":"t-1","issuer":"https://idp.example.com","client_id":"signet","redirect_url":"https://sign.example.com/v1/auth/oidc/corp/callback"}]}}`, ""},
		{"provider incomplete", `{"identity":{"oidc":[{"name":"corp","tenant":"t-1"}]}}`, "identity.oidc[0]"},
		{"provider twice", `{"identity":{"oidc":[{"name":"a","tenant":"t","issuer":"https://i","client_id":"c","redirect_url":"https://r"},{"name":"a","tenant":"t","issuer":"https://i","client_id":"c","redirect_url":"https://r"}]}}`, `"a" is used twice`},
		{"sms", `{"sms_gateway":{"url":"https://sms.example.com/send","token_env":"SMS_TOKEN"}}`, ""},
		{"sms without token", `{"sms_gateway":{"url":"https://sms.example.com/send"}}`, "sms_gateway.token_env"},
		{"sms over http", `{"sms_gateway":{"url":"http://sms.example.com/send","token_env":"T"}}`, "sms_gateway"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := server.ParseConfig([]byte(c.json))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}
