package server_test

import (
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/server"
)

// TestConfigPKCS11: inconsistent pkcs11 and keys_at_rest settings are
// refused with one line naming the setting; consistent ones pass.
func TestConfigPKCS11(t *testing.T) {
	const token = `"pkcs11":{"module":"/usr/lib/softhsm/libsofthsm2.so","token_label":"signet","pin_env":"SIGNET_PKCS11_PIN"`
	signer := `"role":"signer","signer":{"listen":"127.0.0.1:9443"},`
	api := `"role":"api","signer":{"url":"https://127.0.0.1:9443"},`
	tests := []struct {
		name, json, want string
	}{
		{"soft by default", `{}`, ""},
		{"soft", `{"keys_at_rest":{"backend":"soft"}}`, ""},
		{"pkcs11", `{` + token + `},"keys_at_rest":{"backend":"pkcs11"}}`, ""},
		{"pkcs11 with sessions", `{` + token + `,"max_sessions":4},"keys_at_rest":{"backend":"pkcs11"}}`, ""},
		{"token registered, new keys soft", `{` + token + `}}`, ""},
		{"signer with a token", `{` + signer + token + `},"keys_at_rest":{"backend":"pkcs11"}}`, ""},
		{"backend pkcs11 without a token", `{"keys_at_rest":{"backend":"pkcs11"}}`, `keys_at_rest.backend "pkcs11" needs a pkcs11 section`},
		{"unknown backend", `{"keys_at_rest":{"backend":"vault"}}`, `keys_at_rest.backend "vault" is neither`},
		{"no module", `{"pkcs11":{"token_label":"signet","pin_env":"P"}}`, "pkcs11.module is required"},
		{"no token label", `{"pkcs11":{"module":"/m.so","pin_env":"P"}}`, "pkcs11.token_label is required"},
		{"token label too long", `{"pkcs11":{"module":"/m.so","token_label":"` + strings.Repeat("t", 33) + `","pin_env":"P"}}`, "longer than 32 bytes"},
		{"no pin_env", `{"pkcs11":{"module":"/m.so","token_label":"signet"}}`, "pkcs11.pin_env is required"},
		{"a PIN in the file", `{"pkcs11":{"module":"/m.so","token_label":"signet","pin_env":"P","pin":"1234"}}`, "unknown field"},
		{"negative sessions", `{` + token + `,"max_sessions":-1}}`, "pkcs11.max_sessions -1 is outside"},
		{"too many sessions", `{` + token + `,"max_sessions":100000}}`, "pkcs11.max_sessions 100000 is outside"},
		{"api role with a token", `{` + api + token + `}}`, "role api: pkcs11 belongs to the signer's configuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.ParseConfig([]byte(tc.json))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("accepted; want %q", tc.want)
			case !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"):
				t.Fatalf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}
