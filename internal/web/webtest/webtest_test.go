package webtest_test

import (
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signet-pki/signet/internal/web/webtest"
)

// TestConsoleErrors: the errors a page reports (console.error, an uncaught
// exception, a failed load) are collected once each, in order, and a
// clean page reports none.
func TestConsoleErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>bad</title><p>bad</p>
<script>console.error("first failure"); console.log("just a log");</script>
<script>throw new Error("second failure")</script>`))
	})
	mux.HandleFunc("GET /good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>good</title><p id="ok">fine</p><script>console.log("fine")</script>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := webtest.Start(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	errs := webtest.ConsoleErrors(ctx)
	if len(errs) != 2 || !strings.Contains(errs[0], "first failure") || !strings.Contains(errs[1], "second failure") {
		t.Fatalf("errors %q, want the console.error then the exception", errs)
	}
	if again := webtest.ConsoleErrors(ctx); len(again) != 0 {
		t.Errorf("errors reported twice: %q", again)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	if errs := webtest.ConsoleErrors(ctx); len(errs) != 0 {
		t.Errorf("a clean page reported %q", errs)
	}
	// The 404 of /missing is an error entry of the browser's log.
	if status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/missing").then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil || status != 404 {
		t.Fatal(status, err)
	}
	if errs := webtest.ConsoleErrors(ctx); len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "404") {
		t.Errorf("failed loads not reported: %q", errs)
	}
}

// TestScreenshot: a full-page PNG lands in $SIGNET_ARTIFACTS under a
// cleaned name.
func TestScreenshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "artifacts")
	t.Setenv("SIGNET_ARTIFACTS", dir)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>tall</title><div style="height:2000px">tall</div>`))
	}))
	defer srv.Close()
	ctx := webtest.Start(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	path := webtest.Screenshot(t, ctx, "a page/with odd name")
	if path != filepath.Join(dir, "a-page-with-odd-name.png") {
		t.Fatalf("path %s", path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != webtest.Width || b.Dy() < 2000 {
		t.Errorf("screenshot %v, want the whole %d px wide, 2000+ px tall page", b, webtest.Width)
	}
}

// TestAccessibility: the audit names each kind of problem it looks for on
// a page that has them, and none on a page that avoids them.
func TestAccessibility(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /poor", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>poor</title>
<body style="background:#fff"><input id="nameless"><button id="empty"></button><img src="data:," width="4" height="4">
<p style="color:#aaa">faint text</p><p id="twice">a</p><p id="twice">b</p>
<p style="color:#aaa;font-size:30px">large faint text</p></body>`))
	})
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>fine</title>
<body style="background:#fff"><label for="n">Name</label><input id="n"><button>Send</button>
<img src="data:," alt="" width="4" height="4"><p style="color:#595959">readable grey text</p>
<p style="color:#767676;font-size:30px">large grey text</p><input aria-label="Search"><p class="x" hidden><input></p></body></html>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := webtest.Start(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/poor")); err != nil {
		t.Fatal(err)
	}
	got, err := webtest.Accessibility(ctx)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"html has no lang", "control without a label: input#nameless", "control without a name: button#empty",
		"image without alt", "duplicate id: twice", `"faint text"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit of a poor page missed %q:\n%s", want, joined)
		}
	}
	// #aaa on white is 2.32:1: too faint even for large text (3:1).
	if !strings.Contains(joined, `"large faint text"`) {
		t.Errorf("large text below 3:1 not reported:\n%s", joined)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/fine")); err != nil {
		t.Fatal(err)
	}
	if got, err := webtest.Accessibility(ctx); err != nil || len(got) != 0 {
		t.Errorf("a page without problems: %q, %v", got, err)
	}
}
