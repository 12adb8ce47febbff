package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/web"
	"github.com/signet-pki/signet/internal/web/webtest"
)

// webPages are the web interface's pages.
var webPages = []string{"/", "/admin", "/sign", "/verify"}

// webFixture is a running server with the test pages and a PDF it sealed
// (valid under its trust).
type webFixture struct {
	*running
	mu     sync.Mutex
	sealed []byte
}

// testPages mounts, through web.Headers (the pages' own headers, CSP
// included) and as public routes, pages that exist only in these tests:
// one with an inline script, the script it loads as a control, and a page
// that renders f.sealed with static/pdfview.js.
func (f *webFixture) testPages() server.Option {
	page := func(body string) http.Handler {
		return web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>test</title>` +
				`<link rel="icon" href="/static/favicon.svg"><link rel="stylesheet" href="/static/app.css"></head><body>` + body + `</body></html>`))
		}))
	}
	script := func(js string) http.Handler {
		return web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write([]byte(js))
		}))
	}
	register := func(mux api.Mux) {
		mux.Handle("GET /webtest/inline", page(`<p id="p">inline</p>`+
			`<script>document.body.dataset.inline = "ran";</script>`+
			`<script type="module" src="/webtest/control.js"></script>`))
		mux.Handle("GET /webtest/control.js", script(`document.body.dataset.control = "ran";`))
		mux.Handle("GET /webtest/pdf", page(`<div id="pages" class="pdf-pages"></div><script type="module" src="/webtest/pdf.js"></script>`))
		mux.Handle("GET /webtest/pdf.js", script(`import {renderPDF} from '/static/pdfview.js';
const res = await fetch('/webtest/doc.pdf');
try {
  const pages = await renderPDF(document.getElementById('pages'), await res.arrayBuffer(), {width: 600});
  const ink = pages.map((p) => {
    const d = p.canvas.getContext('2d').getImageData(0, 0, p.canvas.width, p.canvas.height).data;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 3] > 0) dark++;
    return dark;
  });
  document.body.dataset.pages = JSON.stringify(pages.map((p, i) => ({number: p.number, width: p.width, height: p.height,
    scale: p.scale, rotate: p.rotate, wrapped: p.wrapper.contains(p.canvas) && p.wrapper.classList.contains('pdf-page'), ink: ink[i]})));
} catch (err) {
  document.body.dataset.error = String(err);
}`))
		mux.Handle("GET /webtest/signet", page(`<div id="out"></div><script type="module" src="/webtest/signet.js"></script>`))
		mux.Handle("GET /webtest/signet.js", script(signetChecks))
		mux.Handle("POST /webtest/echo", web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			api.WriteJSON(w, http.StatusOK, map[string]string{
				"method": r.Method, "content_type": r.Header.Get("Content-Type"), "body": string(body),
				"csrf": r.Header.Get("X-CSRF-Token"), "authorization": r.Header.Get("Authorization"),
				"idempotency_key": r.Header.Get("Idempotency-Key"),
			})
		})))
		mux.Handle("GET /webtest/doc.pdf", web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(f.sealed)
		})))
	}
	frag := []byte(`{"paths": {
		"/webtest/inline": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/control.js": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/pdf": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/pdf.js": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/doc.pdf": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/signet": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/signet.js": {"get": {"security": [], "responses": {"200": {"description": "test"}}}},
		"/webtest/echo": {"post": {"security": [], "responses": {"200": {"description": "test"}}}}
	}}`)
	return server.WithRoutes(register, frag)
}

// startWeb starts a server with the test pages and a tenant, and seals a
// PDF with it.
func startWeb(t *testing.T) *webFixture {
	t.Helper()
	f := &webFixture{}
	f.running = start(t, filepath.Join(t.TempDir(), "data"), nil, f.testPages())
	res := f.do("POST", "/v1/tenants", f.bootstrapKey(), map[string]string{"name": "Acme"})
	var tenant accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tenant) != nil {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	doc, err := os.ReadFile("../../testdata/pdf/classic.pdf")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := f.srv.SealPDF(context.Background(), tenant.ID, doc)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.sealed = sealed
	f.mu.Unlock()
	return f
}

// navigate loads path in the browser.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
}

// eval evaluates js in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// noConsoleErrors fails the test on anything the page reported.
func noConsoleErrors(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if errs := webtest.ConsoleErrors(ctx); len(errs) > 0 {
		t.Errorf("%s reported:\n%s", what, strings.Join(errs, "\n"))
	}
}

// TestWebPages: every page and static file of the web interface answers
// without any credential, with the Content-Security-Policy and the other
// web headers, through the whole middleware stack; each page loads in a
// browser without a console error, and an unknown static file is a 404
// problem.
func TestWebPages(t *testing.T) {
	f := startWeb(t)
	ctx := webtest.Start(t)
	for _, path := range append(webPages, "/static/app.css", "/static/signet.js", "/static/vendor/pdfjs/pdf.min.mjs", "/static/nothing.js") {
		res := f.do("GET", path, "", nil)
		want := http.StatusOK
		if path == "/static/nothing.js" {
			want = http.StatusNotFound
			if ct := res.header.Get("Content-Type"); ct != api.ContentTypeProblem {
				t.Errorf("%s: Content-Type %q", path, ct)
			}
		}
		if res.status != want {
			t.Errorf("%s: %d, want %d", path, res.status, want)
		}
		for k, v := range map[string]string{
			"Content-Security-Policy":    web.CSP,
			"Cross-Origin-Opener-Policy": "same-origin",
			"Permissions-Policy":         web.PermissionsPolicy,
			"X-Content-Type-Options":     "nosniff",
			"X-Frame-Options":            "DENY",
			"Referrer-Policy":            "no-referrer",
		} {
			if got := res.header.Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", path, k, got, v)
			}
		}
	}
	for _, path := range webPages {
		navigate(t, ctx, f.base+path)
		webtest.Wait(t, ctx, `document.readyState === "complete"`)
		if title := eval[string](t, ctx, `document.title`); !strings.HasPrefix(title, "Signet") {
			t.Errorf("%s: title %q", path, title)
		}
		name := "page-console"
		if path != "/" {
			name = "page" + strings.ReplaceAll(path, "/", "-")
		}
		webtest.Screenshot(t, ctx, name)
		webtest.Audit(t, ctx, path)
		noConsoleErrors(t, ctx, path)
	}
}

// TestWebCSPBlocksInjectedScript: on a served page, script injected into
// the DOM does not run (an element's inline text, an inline event handler,
// a string timer) and neither does an inline style attribute: each is
// reported as a securitypolicyviolation event and as a console error,
// while the page's own module script ran. A page served with an inline
// <script> through the same headers does not run it either, while its
// same-origin module script runs.
func TestWebCSPBlocksInjectedScript(t *testing.T) {
	f := startWeb(t)
	ctx := webtest.Start(t)

	navigate(t, ctx, f.base+"/verify")
	// The control: the page's own module script ran.
	webtest.Wait(t, ctx, `document.documentElement.dataset.ready === "verify"`)
	noConsoleErrors(t, ctx, "/verify")
	eval[chromedp.Void](t, ctx, `window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.effectiveDirective));
const s = document.createElement("script");
s.textContent = "window.injectedElement = true";
document.body.appendChild(s);
document.body.insertAdjacentHTML("beforeend", '<img id="x" src="/static/favicon.svg" onload="window.injectedHandler = true" onerror="window.injectedHandler = true">');
document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: rgb(255, 0, 0)">styled</p>');
setTimeout("window.injectedTimer = true", 0);`)
	webtest.Wait(t, ctx, `window.violations.length >= 4`)
	// Let the image load and the timer's turn pass before looking.
	webtest.Wait(t, ctx, `document.getElementById("x").complete`)
	ran := eval[map[string]bool](t, ctx, `({element: !!window.injectedElement, handler: !!window.injectedHandler, timer: !!window.injectedTimer,
		styled: getComputedStyle(document.getElementById("styled")).color === "rgb(255, 0, 0)"})`)
	for what, did := range ran {
		if did {
			t.Errorf("injected %s took effect", what)
		}
	}
	violations := eval[[]string](t, ctx, `window.violations`)
	for _, want := range []string{"script-src-elem", "script-src-attr", "style-src-attr", "script-src"} {
		found := false
		for _, v := range violations {
			found = found || v == want
		}
		if !found {
			t.Errorf("no %s violation among %q", want, violations)
		}
	}
	errs := webtest.ConsoleErrors(ctx)
	if n := strings.Count(strings.Join(errs, "\n"), "Content Security Policy"); n < 4 {
		t.Errorf("%d CSP errors on the console, want 4 or more:\n%s", n, strings.Join(errs, "\n"))
	}

	// A served inline script.
	navigate(t, ctx, f.base+"/webtest/inline")
	webtest.Wait(t, ctx, `document.body.dataset.control === "ran"`)
	if got := eval[string](t, ctx, `document.body.dataset.inline || ""`); got != "" {
		t.Errorf("the inline script ran: %q", got)
	}
	errs = webtest.ConsoleErrors(ctx)
	if len(errs) != 1 || !strings.Contains(errs[0], "Content Security Policy") || !strings.Contains(errs[0], "inline script") {
		t.Errorf("console errors %q, want the inline script's refusal", errs)
	}
	webtest.Screenshot(t, ctx, "csp-inline")
}

// TestWebPDFView: static/pdfview.js renders a signed PDF with the vendored
// PDF.js under the pages' CSP (its worker from /static/, no eval, no
// WebAssembly): one wrapped canvas per page with ink on it, the page size
// in points and the scale to the requested width, and no CSP violation or
// other console error.
func TestWebPDFView(t *testing.T) {
	f := startWeb(t)
	ctx := webtest.Start(t)
	navigate(t, ctx, f.base+"/webtest/pdf")
	webtest.Wait(t, ctx, `document.body.dataset.pages || document.body.dataset.error`)
	if e := eval[string](t, ctx, `document.body.dataset.error || ""`); e != "" {
		t.Fatalf("renderPDF: %s", e)
	}
	var pages []struct {
		Number        int
		Width, Height float64
		Scale         float64
		Rotate        int
		Wrapped       bool
		Ink           int
	}
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `document.body.dataset.pages`)), &pages); err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no page rendered")
	}
	for i, p := range pages {
		if p.Number != i+1 || p.Width <= 0 || p.Height <= 0 || p.Rotate != 0 || !p.Wrapped || p.Ink == 0 {
			t.Errorf("page %d: %+v", i+1, p)
		}
		if got := p.Width * p.Scale; got < 599 || got > 601 {
			t.Errorf("page %d: %v points × %v = %v px, want 600", i+1, p.Width, p.Scale, got)
		}
	}
	webtest.Screenshot(t, ctx, "pdfview")
	noConsoleErrors(t, ctx, "renderPDF")
}

// TestWebVerifyPage: the public verification page, driven as a person
// would: a PDF the server sealed is chosen, verified and shown as valid
// with its signature; the same PDF with one byte changed is shown as
// invalid (keyboard only: Tab to the button, Enter); an evidence bundle
// is shown with its findings; a dropped file is verified too; a file that
// is neither is refused with an alert; the page fits a 360 px wide screen.
func TestWebVerifyPage(t *testing.T) {
	f := startWeb(t)
	dir := t.TempDir()
	f.mu.Lock()
	sealed := append([]byte(nil), f.sealed...)
	f.mu.Unlock()
	tampered := append([]byte(nil), sealed...)
	// The binary comment on the second line, inside every signature's
	// byte range: the structure is intact, the digests are not.
	if tampered[10] != 0xbf {
		t.Fatalf("classic.pdf's second line changed: %q", tampered[:16])
	}
	tampered[10] = 0xbe
	files := map[string][]byte{"signed.pdf": sealed, "tampered.pdf": tampered}
	bundle, err := os.ReadFile("../../evidence/testdata/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	files["evidence.zip"] = bundle
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := webtest.Start(t)
	navigate(t, ctx, f.base+"/verify")
	webtest.Wait(t, ctx, `document.documentElement.dataset.ready === "verify"`)

	verify := func(name string, keyboard bool) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("verify-file"), []string{filepath.Join(dir, name)})); err != nil {
			t.Fatal(err)
		}
		webtest.Wait(t, ctx, `!document.getElementById("verify-submit").disabled`)
		eval[chromedp.Void](t, ctx, `document.getElementById("verify-verdict").replaceChildren()`)
		if keyboard {
			// From the file input, Tab reaches the button; Enter presses it.
			if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID("verify-file")), chromedp.KeyEvent("\t")); err != nil {
				t.Fatal(err)
			}
			if id := eval[string](t, ctx, `document.activeElement.id`); id != "verify-submit" {
				t.Fatalf("Tab from the file input reached %q", id)
			}
			if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
				t.Fatal(err)
			}
		} else if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("verify-submit"))); err != nil {
			t.Fatal(err)
		}
		webtest.Wait(t, ctx, `document.getElementById("verdict")`)
		webtest.Screenshot(t, ctx, "verify-"+strings.TrimSuffix(name, filepath.Ext(name)))
		webtest.Audit(t, ctx, "verify report of "+name)
		noConsoleErrors(t, ctx, "verifying "+name)
		return eval[string](t, ctx, `document.getElementById("verdict").dataset.verdict`)
	}

	if v := verify("signed.pdf", false); v != "valid" {
		t.Errorf("signed.pdf: verdict %q", v)
	}
	if got := eval[string](t, ctx, `document.getElementById("verdict-badge").textContent`); got != "Valid" {
		t.Errorf("badge %q", got)
	}
	sigs := eval[[]string](t, ctx, `[...document.querySelectorAll("li.signature")].map((li) => li.dataset.verdict)`)
	if len(sigs) == 0 {
		t.Error("no signature listed")
	}
	for _, s := range sigs {
		if s != "valid" {
			t.Errorf("signatures %q", sigs)
		}
	}
	// The details open with the keyboard.
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS("#pdf-sig-1-details > summary")), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, ctx, `document.getElementById("pdf-sig-1-details").open`) {
		t.Error("Enter on the summary did not open the details")
	}
	if !eval[bool](t, ctx, `document.getElementById("pdf-sig-1-details").textContent.includes("message-digest")`) {
		t.Error("the details do not list the checks")
	}

	if v := verify("tampered.pdf", true); v != "invalid" {
		t.Errorf("tampered.pdf: verdict %q", v)
	}
	if got := eval[string](t, ctx, `document.getElementById("verdict-badge").textContent`); got != "Invalid" {
		t.Errorf("badge %q", got)
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll("li.signature")].some((li) => li.dataset.verdict === "invalid")`) {
		t.Error("no invalid signature listed")
	}

	// A bundle of another PKI: indeterminate, with its findings.
	if v := verify("evidence.zip", false); v != "indeterminate" {
		t.Errorf("evidence.zip: verdict %q", v)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#bundle-findings li").length`); n == 0 {
		t.Error("no finding listed")
	}

	// A file dropped on the page is verified like a chosen one.
	eval[chromedp.Void](t, ctx, `(async () => {
  const bytes = await (await fetch("/webtest/doc.pdf")).arrayBuffer();
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], "dropped.pdf", {type: "application/pdf"}));
  document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
})()`)
	webtest.Wait(t, ctx, `document.getElementById("verify-status").textContent.includes("dropped.pdf")`)
	eval[chromedp.Void](t, ctx, `document.getElementById("verify-verdict").replaceChildren()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("verify-submit"))); err != nil {
		t.Fatal(err)
	}
	webtest.Wait(t, ctx, `document.getElementById("verdict")`)
	if v := eval[string](t, ctx, `document.getElementById("verdict").dataset.verdict`); v != "valid" {
		t.Errorf("dropped.pdf: verdict %q", v)
	}
	noConsoleErrors(t, ctx, "verifying a dropped file")

	// Neither a PDF nor a bundle: the service's problem, as an alert.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("just some notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("verify-file"), []string{filepath.Join(dir, "notes.txt")}),
		chromedp.Click(chromedp.ID("verify-submit"))); err != nil {
		t.Fatal(err)
	}
	webtest.Wait(t, ctx, `document.querySelector("#verify-error [role=alert]")`)
	if !eval[bool](t, ctx, `document.getElementById("verify-report").classList.contains("hidden")`) {
		t.Error("a report is shown for a refused file")
	}
	webtest.Screenshot(t, ctx, "verify-refused")
	for _, e := range webtest.ConsoleErrors(ctx) {
		if !strings.Contains(e, "status of 415") {
			t.Errorf("console: %s", e)
		}
	}

	// Narrow screens: nothing wider than the viewport.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 800)); err != nil {
		t.Fatal(err)
	}
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the page is %d px wide at 360 px", w)
	}
	webtest.Screenshot(t, ctx, "verify-360")
}

// signetChecks exercises static/signet.js in the browser against the real
// server and the echo route, and leaves {check: "ok" | failure} in
// document.body.dataset.results.
const signetChecks = `import {api, Problem, h, setCSRF, clearCSRF, showProblem, fmtTime} from '/static/signet.js';
const results = {};
const check = async (name, fn) => {
  try { await fn(); results[name] = 'ok'; } catch (err) { results[name] = String(err && err.stack || err); }
};
const assert = (cond, msg) => { if (!cond) throw new Error(msg); };
await check('get-json', async () => {
  const v = await api('GET', '/healthz');
  assert(v.status === 'ok', JSON.stringify(v));
});
await check('get-text', async () => {
  const v = await api('GET', '/healthz', {accept: 'text'});
  assert(typeof v === 'string' && v.includes('ok'), v);
});
await check('get-blob', async () => {
  const v = await api('GET', '/webtest/doc.pdf', {accept: 'blob'});
  assert(v instanceof Blob && v.size > 1000 && v.type === 'application/pdf', String(v.type));
});
await check('post-json-csrf-idempotency', async () => {
  setCSRF('csrf-123');
  const v = await api('POST', '/webtest/echo', {json: {a: 1}});
  assert(v.content_type === 'application/json', v.content_type);
  assert(v.body === '{"a":1}', v.body);
  assert(v.csrf === 'csrf-123', 'csrf ' + v.csrf);
  assert(v.authorization === '', 'authorization ' + v.authorization);
  assert(/^[0-9a-f-]{36}$/.test(v.idempotency_key), 'key ' + v.idempotency_key);
  const w = await api('POST', '/webtest/echo', {json: {a: 1}});
  assert(w.idempotency_key !== v.idempotency_key, 'the same key twice');
});
await check('token-instead-of-csrf', async () => {
  setCSRF('csrf-123');
  const v = await api('POST', '/webtest/echo', {json: {}, token: 'tok-9'});
  assert(v.authorization === 'Bearer tok-9', v.authorization);
  assert(v.csrf === '', 'csrf sent with a token: ' + v.csrf);
});
await check('clear-csrf', async () => {
  clearCSRF();
  const v = await api('POST', '/webtest/echo', {json: {}});
  assert(v.csrf === '', v.csrf);
  assert(sessionStorage.getItem('signet.csrf') === null, 'still stored');
});
await check('raw-body', async () => {
  const v = await api('POST', '/webtest/echo', {body: new Blob(['%PDF-raw'], {type: 'application/pdf'})});
  assert(v.content_type === 'application/pdf' && v.body === '%PDF-raw', JSON.stringify(v));
});
await check('problem', async () => {
  let p;
  try { await api('POST', '/v1/verify', {body: new Blob(['not a pdf'], {type: 'application/pdf'})}); } catch (err) { p = err; }
  assert(p instanceof Problem && p instanceof Error, 'no Problem thrown');
  assert(p.status === 415 && p.title && p.type, JSON.stringify({status: p.status, type: p.type, title: p.title}));
  const box = document.getElementById('out');
  showProblem(box, p);
  const alert = box.querySelector('[role="alert"]');
  assert(alert && alert.textContent.includes(p.title), 'no alert');
  showProblem(box, null);
  assert(box.childElementCount === 0 && box.classList.contains('hidden'), 'not cleared');
});
await check('unauthorized', async () => {
  let p;
  try { await api('GET', '/v1/envelopes'); } catch (err) { p = err; }
  assert(p instanceof Problem && p.status === 401, 'status ' + (p && p.status));
});
await check('h', async () => {
  let clicked = 0;
  const el = h('button', {class: 'primary', id: 'b1', type: 'button', 'aria-label': 'Go', 'data-x': '7', onclick: () => clicked++, disabled: false},
    '<img src=x onerror=alert(1)>', 3, null, [h('span', {}, 'in')]);
  document.body.appendChild(el);
  assert(el.className === 'primary' && el.id === 'b1' && el.type === 'button', el.outerHTML);
  assert(el.getAttribute('aria-label') === 'Go' && el.dataset.x === '7' && !el.disabled, el.outerHTML);
  assert(el.querySelector('img') === null && el.textContent === '<img src=x onerror=alert(1)>3in', el.textContent);
  el.click();
  assert(clicked === 1, 'clicks ' + clicked);
  const l = h('label', {for: 'b1'}, 'L');
  assert(l.htmlFor === 'b1', 'for');
  let refused = false;
  try { h('div', {style: 'color: red'}); } catch (_) { refused = true; }
  assert(refused, 'an inline style attribute was accepted');
});
await check('fmtTime', async () => {
  assert(fmtTime('') === '' && fmtTime(null) === '', 'empty');
  assert(fmtTime('not a time') === 'not a time', 'garbage');
  assert(fmtTime('2026-12-06T10:22:38Z').includes('2026'), fmtTime('2026-12-06T10:22:38Z'));
});
document.body.dataset.results = JSON.stringify(results);
`

// TestWebSignetJS: the shared page helpers in a browser, against the
// server: JSON, text and blob answers; a JSON or raw body; the CSRF token
// on unsafe methods unless a bearer token is given; a fresh
// Idempotency-Key on each POST; problems thrown as Problem and shown as an
// alert; h() never turning text into markup and refusing inline styles.
func TestWebSignetJS(t *testing.T) {
	f := startWeb(t)
	ctx := webtest.Start(t)
	navigate(t, ctx, f.base+"/webtest/signet")
	webtest.Wait(t, ctx, `document.body.dataset.results`)
	var results map[string]string
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `document.body.dataset.results`)), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 11 {
		t.Errorf("%d checks ran, want 11: %v", len(results), results)
	}
	for name, r := range results {
		if r != "ok" {
			t.Errorf("%s: %s", name, r)
		}
	}
	// The 415 and 401 answers are failed loads on the console; nothing else.
	for _, e := range webtest.ConsoleErrors(ctx) {
		if !strings.Contains(e, "status of 415") && !strings.Contains(e, "status of 401") {
			t.Errorf("console: %s", e)
		}
	}
}
