package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeResolver answers from a map, so that the tests need no DNS.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestGuardURLs(t *testing.T) {
	res := fakeResolver{
		"receiver.example": {"93.184.215.14"},
		"rebind.example":   {"127.0.0.1"},
		"mixed.example":    {"93.184.215.14", "10.1.2.3"},
		"metadata.example": {"169.254.169.254"},
		"v6local.example":  {"::1"},
		"mapped.example":   {"::ffff:127.0.0.1"},
		"public6.example":  {"2606:4700::1111"},
	}
	g := &Guard{Resolver: res}
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://receiver.example/hook", true},
		{"https://public6.example/hook", true},
		{"https://93.184.215.14:8443/hook", true},
		{"http://receiver.example/hook", false},
		{"ftp://receiver.example/", false},
		{"https://127.0.0.1/hook", false},
		{"https://[::1]/hook", false},
		{"https://10.0.0.5/hook", false},
		{"https://172.16.3.4/", false},
		{"https://192.168.1.1/", false},
		{"https://169.254.169.254/latest/meta-data/", false},
		{"https://100.64.0.1/", false},
		{"https://0.0.0.0/", false},
		{"https://224.0.0.1/", false},
		{"https://[fe80::1]/", false},
		{"https://[fd12::1]/", false},
		{"https://[::ffff:10.0.0.1]/", false},
		{"https://[::ffff:169.254.169.254]/", false},
		{"https://rebind.example/hook", false},
		{"https://mixed.example/hook", false},
		{"https://metadata.example/", false},
		{"https://v6local.example/", false},
		{"https://mapped.example/", false},
		{"https://localhost/", false},
		{"https://unknown.example/", false},
		{"https://user:pw@receiver.example/", false},
		{"https://receiver.example:99999/", false},
		{"receiver.example/hook", false},
		{"https://" + strings.Repeat("a", maxURL) + ".example/", false},
	}
	for _, tt := range tests {
		_, err := g.CheckURL(context.Background(), tt.url)
		if tt.ok && err != nil {
			t.Errorf("%s refused: %v", tt.url, err)
		}
		if !tt.ok && !errors.Is(err, ErrForbiddenURL) {
			t.Errorf("%s allowed (%v)", tt.url, err)
		}
	}
	open := &Guard{AllowPrivateNetworks: true, AllowHTTP: true}
	for _, u := range []string{"http://127.0.0.1:8080/", "https://10.0.0.5/"} {
		if _, err := open.CheckURL(context.Background(), u); err != nil {
			t.Errorf("configuration does not lift the guard for %s: %v", u, err)
		}
	}
}

// TestGuardConnectTime: a name that passed the registration check and now
// resolves to loopback (DNS rebinding) is refused when dialling.
func TestGuardConnectTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	res := fakeResolver{"rebind.example": {"127.0.0.1"}}
	g := &Guard{AllowHTTP: true, Resolver: res}
	for _, u := range []string{"http://rebind.example:" + port + "/", srv.URL + "/"} {
		resp, err := g.Client().Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: connected", u)
		}
		if !errors.Is(err, ErrForbiddenURL) {
			t.Errorf("%s: %v, want the guard's refusal", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("receiver reached %d times", hits.Load())
	}
	// Lifted by configuration: the same client reaches it.
	open := &Guard{AllowHTTP: true, AllowPrivateNetworks: true, Resolver: res}
	resp, err := open.Client().Get("http://rebind.example:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("hits = %d", hits.Load())
	}
}

func TestGuardNoRedirects(t *testing.T) {
	var target atomic.Int32
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target.Add(1) }))
	defer dst.Close()
	src := httptest.NewServer(http.RedirectHandler(dst.URL, http.StatusFound))
	defer src.Close()
	g := &Guard{AllowHTTP: true, AllowPrivateNetworks: true}
	resp, err := g.Client().Get(src.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || target.Load() != 0 {
		t.Fatalf("status %d, redirect target reached %d times", resp.StatusCode, target.Load())
	}
}

// FuzzGuardURL: whatever the URL, an accepted one has https (or http when
// allowed) and a host whose addresses all pass CheckAddr.
func FuzzGuardURL(f *testing.F) {
	b, err := os.ReadFile("testdata/urls.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			f.Add(l)
		}
	}
	res := fakeResolver{"receiver.example": {"93.184.215.14"}, "rebind.example": {"127.0.0.1"}}
	g := &Guard{Resolver: res}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := g.CheckURL(context.Background(), raw)
		if err != nil {
			return
		}
		if u.Scheme != "https" {
			t.Fatalf("%q accepted with scheme %q", raw, u.Scheme)
		}
		host := u.Hostname()
		if a, perr := netip.ParseAddr(host); perr == nil {
			if g.CheckAddr(a) != nil {
				t.Fatalf("%q accepted with address %s", raw, a)
			}
			return
		}
		addrs, lerr := res.LookupNetIP(context.Background(), "ip", host)
		if lerr != nil {
			t.Fatalf("%q accepted with an unresolvable host", raw)
		}
		for _, a := range addrs {
			if g.CheckAddr(a) != nil {
				t.Fatalf("%q accepted, resolving to %s", raw, a)
			}
		}
	})
}
