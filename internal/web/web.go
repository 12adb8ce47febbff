// Package web serves the web interface of signet serve: four static pages
// (the sender console at /, the administration console at /admin, the
// recipient's signing page at /sign and the public verification page at
// /verify) and the files they load under /static/, all embedded in the
// binary from the static directory. There are no server templates: the
// pages fetch their data from the JSON API with their own module scripts.
//
// Every answer of the package carries [CSP] and the other browser
// hardening headers of [Headers], so a page runs only the service's own
// scripts and styles and talks only to its own origin. Files are served
// with their content type, an ETag from their SHA-256 (a matching
// If-None-Match is answered 304) and Cache-Control: no-cache, so a browser
// revalidates after an upgrade. An unknown file, a directory or a path
// that leaves the tree is a 404 problem.
//
// The operations are documented, all public, in [OpenAPI].
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// CSP is the Content-Security-Policy of every web answer: only the
// service's own scripts (no inline script, no eval), styles (no inline
// style attribute), images (and data: and blob: URLs that scripts make,
// such as rendered pages), fonts, workers and connections; no plug-in, no
// frame of the service anywhere, no <base>, forms posted only to the
// service.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; worker-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// PermissionsPolicy turns off the powerful browser features that no page
// uses.
const PermissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), bluetooth=()"

// OpenAPI is the package's OpenAPI fragment: the pages and static files,
// all public (security: []).
//
//go:embed openapi.json
var OpenAPI []byte

//go:embed static
var embedded embed.FS

// pages maps each page's route to its file under static/.
var pages = map[string]string{
	"GET /{$}":    "index.html",
	"GET /admin":  "admin.html",
	"GET /sign":   "sign.html",
	"GET /verify": "verify.html",
}

// A Handler serves the pages and static files of one file tree.
type Handler struct {
	files map[string]file
}

// file is one servable file, read once.
type file struct {
	data        []byte
	etag        string
	contentType string
}

// New returns a Handler over the embedded static files.
func New() *Handler {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic("web: " + err.Error()) // the embedded tree always has static/
	}
	h, err := NewFS(sub)
	if err != nil {
		panic("web: " + err.Error())
	}
	return h
}

// NewFS returns a Handler over the regular files of fsys (read once, at
// construction), for tests of other trees.
func NewFS(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files[name] = file{data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ContentType(name)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Register mounts the pages (GET /, /admin, /sign, /verify) and the static
// files (GET /static/{file...}) on mux, each wrapped in [Headers].
func (h *Handler) Register(mux api.Mux) {
	for pattern, name := range pages {
		mux.Handle(pattern, Headers(h.serve(func(*http.Request) string { return name })))
	}
	mux.Handle("GET /static/{file...}", Headers(h.serve(func(r *http.Request) string { return r.PathValue("file") })))
}

// errNotFound answers an unknown file.
var errNotFound = &api.Error{Kind: api.KindNotFound, Detail: "no such file"}

// serve returns a handler of the file that name picks.
func (h *Handler) serve(name func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The table holds the regular files of the tree under their
		// clean, slash-separated names (fs.WalkDir's): a directory, a
		// name with dot or empty segments, a backslash or any other
		// spelling finds nothing.
		f, ok := h.files[name(r)]
		if !ok {
			api.WriteProblem(w, r, errNotFound)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", f.contentType)
		hdr.Set("ETag", f.etag)
		hdr.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	})
}

// contentTypes maps the extensions the tree uses to their media types.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// ContentType returns the media type the handler serves name with, from
// its extension; a file without a known one (LICENSE) is served as plain
// text if it has no extension, else as application/octet-stream.
func ContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if ext == "" {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// Headers returns next with the headers of every web answer:
// Content-Security-Policy ([CSP]), Cross-Origin-Opener-Policy:
// same-origin, Cross-Origin-Resource-Policy: same-origin and
// Permissions-Policy ([PermissionsPolicy]), plus those of
// [api.SecurityHeaders] (HSTS, nosniff, no-referrer, X-Frame-Options).
func Headers(next http.Handler) http.Handler {
	return api.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", PermissionsPolicy)
		next.ServeHTTP(w, r)
	}))
}
