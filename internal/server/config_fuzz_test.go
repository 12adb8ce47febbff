package server_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/signet-pki/signet/internal/server"
)

// FuzzParseConfig checks that ParseConfig never panics and that a
// configuration it accepts survives encoding and parsing again unchanged.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"listen":"127.0.0.1:8443","pki_listen":"127.0.0.1:8480","data_dir":"/var/lib/signet"}`,
		`{"body_read_timeout":"30s","body_min_rate":16384,"blob_gc_interval":"1h","blob_gc_grace":"90m"}`,
		`{"body_read_timeout":30}`,
		`{"blob_gc_grace":"1s"}`,
		`{"tsa_urls":["https://tsa.example.net/rfc3161"],"tsa_roots_file":"/etc/signet/tsa.pem"}`,
		`{"rate_limits":{"per_ip":{"per_second":1,"burst":2}},"max_upload_size":1048576}`,
		`{"smtp":{"addr":"mail.example.org:587","from":"signet@example.org","starttls":true}}`,
		`{"listen":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := server.ParseConfig(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal an accepted configuration: %v", err)
		}
		again, err := server.ParseConfig(out)
		if err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the configuration:\n%+v\n%+v", c, again)
		}
	})
}
