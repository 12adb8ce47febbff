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
