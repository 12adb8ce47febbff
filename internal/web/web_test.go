package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/web"
)

// serve returns a test server of h's routes on an api.Router.
func serve(t *testing.T, h *web.Handler) (*httptest.Server, *api.Router) {
	t.Helper()
	mux := api.NewRouter()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, mux
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res, b.String()
}

// checkHeaders fails unless res carries every web answer's headers.
func checkHeaders(t *testing.T, what string, res *http.Response) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Security-Policy":      web.CSP,
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           web.PermissionsPolicy,
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Strict-Transport-Security":    "max-age=" + api.HSTSMaxAge + "; includeSubDomains",
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %s %q, want %q", what, k, got, v)
		}
	}
}

// TestCSP: the policy is exactly the one the web interface is written
// for: no inline script or style, no eval, nothing from another origin.
func TestCSP(t *testing.T) {
	want := map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data: blob:",
		"connect-src": "'self'", "worker-src": "'self'", "font-src": "'self'", "form-action": "'self'",
		"base-uri": "'none'", "frame-ancestors": "'none'",
	}
	got := map[string]string{}
	for _, d := range strings.Split(web.CSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if _, dup := got[name]; dup {
			t.Errorf("directive %s twice", name)
		}
		got[name] = value
	}
	if len(got) != len(want) {
		t.Errorf("directives %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %q, want %q", k, got[k], v)
		}
	}
	if strings.Contains(web.CSP, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", web.CSP)
	}
}

// TestPages: each page route serves its file as HTML with the web
// headers, a content ETag and no-cache; each page loads app.css and its
// own module script and has no inline script or style.
func TestPages(t *testing.T) {
	srv, _ := serve(t, web.New())
	for _, tc := range []struct{ path, script string }{
		{"/", "/static/console.js"},
		{"/admin", "/static/admin.js"},
		{"/sign", "/static/sign.js"},
		{"/verify", "/static/verify.js"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv.URL+tc.path, nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			checkHeaders(t, tc.path, res)
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if res.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(res.Header.Get("ETag"), `"`) {
				t.Errorf("Cache-Control %q, ETag %q", res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
			}
			for _, want := range []string{`<link rel="stylesheet" href="/static/app.css">`, `<script type="module" src="` + tc.script + `"></script>`} {
				if !strings.Contains(body, want) {
					t.Errorf("no %s", want)
				}
			}
			if strings.Contains(body, "style=") || strings.Count(body, "<script") != strings.Count(body, `<script type="module" src="/static/`) {
				t.Errorf("inline style or script in the page")
			}
			// The page's script exists.
			if res, _ := get(t, srv.URL+tc.script, nil); res.StatusCode != 200 {
				t.Errorf("%s: %d", tc.script, res.StatusCode)
			}
		})
	}
	// "/" is the console only: other paths are not pages.
	if res, _ := get(t, srv.URL+"/elsewhere", nil); res.StatusCode != 404 {
		t.Errorf("/elsewhere: %d", res.StatusCode)
	}
}

// TestStatic: files carry their content type, a SHA-256 ETag that a
// conditional request matches (304), no-cache and the web headers.
func TestStatic(t *testing.T) {
	srv, _ := serve(t, web.New())
	for _, tc := range []struct{ path, ctype string }{
		{"/static/app.css", "text/css; charset=utf-8"},
		{"/static/signet.js", "text/javascript; charset=utf-8"},
		{"/static/pdfview.js", "text/javascript; charset=utf-8"},
		{"/static/vendor/pdfjs/pdf.min.mjs", "text/javascript; charset=utf-8"},
		{"/static/vendor/pdfjs/pdf.worker.min.mjs", "text/javascript; charset=utf-8"},
		{"/static/vendor/pdfjs/LICENSE", "text/plain; charset=utf-8"},
		{"/static/verify.html", "text/html; charset=utf-8"},
		{"/static/favicon.svg", "image/svg+xml"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv.URL+tc.path, nil)
			if res.StatusCode != 200 || body == "" {
				t.Fatalf("status %d, %d bytes", res.StatusCode, len(body))
			}
			checkHeaders(t, tc.path, res)
			if ct := res.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			etag := res.Header.Get("ETag")
			if len(etag) != 34 || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
			}
			res, body = get(t, srv.URL+tc.path, map[string]string{"If-None-Match": etag})
			if res.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("If-None-Match: %d with %d bytes, want 304", res.StatusCode, len(body))
			}
			checkHeaders(t, tc.path+" (304)", res)
			if res, _ := get(t, srv.URL+tc.path, map[string]string{"If-None-Match": `"other"`}); res.StatusCode != 200 {
				t.Errorf("another ETag: %d", res.StatusCode)
			}
		})
	}
}

// TestETagFollowsContent: the ETag is the content's: equal files share
// it, a changed file gets another.
func TestETagFollowsContent(t *testing.T) {
	fsys := fstest.MapFS{"a.js": {Data: []byte("x")}, "b.js": {Data: []byte("x")}, "c.js": {Data: []byte("y")}}
	h, err := web.NewFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, h)
	etag := func(name string) string {
		res, _ := get(t, srv.URL+"/static/"+name, nil)
		return res.Header.Get("ETag")
	}
	if a, b, c := etag("a.js"), etag("b.js"), etag("c.js"); a == "" || a != b || a == c {
		t.Errorf("ETags %q %q %q", a, b, c)
	}
}

// TestNotFound: unknown files, directories and paths that try to leave
// the tree are a 404 problem (with the web headers), never a listing or a
// file from elsewhere.
func TestNotFound(t *testing.T) {
	fsys := fstest.MapFS{
		"app.css":            {Data: []byte("body{}")},
		"vendor/pdfjs/x.mjs": {Data: []byte("x")},
	}
	h, err := web.NewFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	srv, mux := serve(t, h)
	for _, path := range []string{
		"/static/missing.js",
		"/static/",
		"/static/vendor",
		"/static/vendor/",
		"/static/vendor/pdfjs/",
		"/static/%2e%2e/web.go",
		"/static/vendor/..%2f..%2fweb.go",
		"/static/vendor%2F..%2Fapp.css",
		"/static/.%2Fapp.css",
		"/static/app.css%00",
		"/static/..%5Capp.css",
		"/static/APP.CSS",
	} {
		t.Run(path, func(t *testing.T) {
			res, body := get(t, srv.URL+path, nil)
			if res.StatusCode != 404 {
				t.Fatalf("status %d, body %q", res.StatusCode, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p struct{ Type, Title string }
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Title == "" {
				t.Errorf("problem %q: %v", body, err)
			}
			checkHeaders(t, path, res)
		})
	}
	// A path with dot segments is cleaned by the router (a redirect to
	// the clean path), never served from outside the tree.
	for _, path := range []string{"/static/../web.go", "/static/vendor/../../web.go"} {
		req := httptest.NewRequest("GET", path, nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == 200 {
			t.Errorf("%s: 200", path)
		}
	}
	// Sanity: the valid file next to them is served.
	if res, body := get(t, srv.URL+"/static/app.css", nil); res.StatusCode != 200 || body != "body{}" {
		t.Errorf("app.css: %d %q", res.StatusCode, body)
	}
}

// TestContentType: the media types by extension.
func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"a.html": "text/html; charset=utf-8", "a.css": "text/css; charset=utf-8", "a.js": "text/javascript; charset=utf-8",
		"a.mjs": "text/javascript; charset=utf-8", "a.JS": "text/javascript; charset=utf-8", "a.svg": "image/svg+xml",
		"a.png": "image/png", "a.woff2": "font/woff2", "LICENSE": "text/plain; charset=utf-8",
		"a.wasm": "application/octet-stream", "a.bin": "application/octet-stream",
	} {
		if got := web.ContentType(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestEmbeddedTree: the routes are the pages and the static files, and
// the OpenAPI fragment documents exactly them, all public.
func TestEmbeddedTree(t *testing.T) {
	_, mux := serve(t, web.New())
	want := []string{"GET /admin", "GET /sign", "GET /static/{file...}", "GET /verify", "GET /{$}"}
	if got := mux.Patterns(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("routes %q, want %q", got, want)
	}
	// The OpenAPI fragment documents exactly these routes, all public.
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, web.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(access) != len(want) {
		t.Errorf("documented %v", access)
	}
	for _, p := range want {
		if !access[p].Public {
			t.Errorf("%s is not documented as public", p)
		}
	}
}
