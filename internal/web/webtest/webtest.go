// Package webtest runs the web interface's browser tests: a headless
// Debian chromium (/usr/bin/chromium, which make test installs) driven over
// the DevTools protocol by chromedp, from Go, with no Node toolchain in the
// test path.
//
// A test calls [Start] for a fresh browser (its own profile directory,
// closed at the test's cleanup), drives it with chromedp actions, takes
// pictures with [Screenshot] and fails on anything [ConsoleErrors] reports:
// Content-Security-Policy violations, uncaught exceptions, rejected promises,
// console.error calls and failed loads (except the browser's own request
// of /favicon.ico, which no page makes).
//
//	ctx := webtest.Start(t)
//	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/verify")); err != nil { ... }
//	webtest.Screenshot(t, ctx, "verify")
//	if errs := webtest.ConsoleErrors(ctx); len(errs) > 0 { t.Fatal(errs) }
package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser the tests run: Debian's chromium package.
const Chromium = "/usr/bin/chromium"

// Timeout bounds everything a browser started by [Start] does: its
// context ends then, failing whatever action is running.
const Timeout = 5 * time.Minute

// Width and Height are the size of the browser window, in CSS pixels.
const (
	Width  = 1280
	Height = 900
)

// console is what the page of one browser reported, kept in order.
type console struct {
	mu     sync.Mutex
	errors []string
	seen   map[string]chan struct{} // sync markers waited for
}

type consoleKey struct{}

// syncPrefix marks the console.debug lines [ConsoleErrors] writes to know
// that every earlier message has been read.
const syncPrefix = "webtest-sync-"

// Start starts a fresh headless chromium and returns a chromedp context of
// its first tab, bounded by [Timeout]. The browser runs with --no-sandbox
// (the tests run as root in CI), --disable-gpu, --disable-quic,
// --no-first-run, --disable-background-networking,
// --disable-component-update, --disable-sync, a fresh --user-data-dir
// under t.TempDir() and --ignore-certificate-errors (the test servers'
// certificates come from throwaway CAs). It fails the test with "run make
// test" when chromium is not installed. The browser is closed at cleanup.
func Start(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("webtest: %s is missing (%v): run make test, which installs Debian's chromium", Chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.IgnoreCertErrors,
		chromedp.WindowSize(Width, Height),
	)
	base, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	c := &console{seen: map[string]chan struct{}{}}
	ctx, cancelCtx := chromedp.NewContext(context.WithValue(allocCtx, consoleKey{}, c),
		chromedp.WithErrorf(func(format string, args ...any) { t.Logf("chromedp: "+format, args...) }))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser and its tab, then subscribe to the tab's console
	// before any page is loaded.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("webtest: starting %s: %v (run make test)", Chromium, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.note(m)
		}
	}()
	return ctx
}

// note records m if it is an error, and wakes a waiter on a sync marker.
func (c *console) note(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.HasPrefix(m.Text, syncPrefix) {
		if ch, ok := c.seen[m.Text]; ok {
			close(ch)
			delete(c.seen, m.Text)
		}
		return
	}
	if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
		return
	}
	if m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico") {
		// The browser's own guess at an icon, which no page asked for.
		return
	}
	s := string(m.Type) + ": " + m.Text
	if m.Source != "" {
		s = string(m.Type) + " (" + m.Source + "): " + m.Text
	}
	if m.URL != "" {
		s += fmt.Sprintf(" [%s:%d]", m.URL, m.Line+1)
	}
	c.errors = append(c.errors, s)
}

var syncCount struct {
	sync.Mutex
	n int
}

// ConsoleErrors returns the errors the page of the tab that [Start]
// returned has reported so far, in order, and forgets them: CSP
// violations, uncaught exceptions and unhandled rejections, console.error
// calls, and the browser's own error entries (a failed load, a refused
// connection). It first writes a marker to the page's console and waits
// until it has been read, so every message the page reported before the
// call is counted. A browser that cannot be asked is reported as an error
// too.
func ConsoleErrors(ctx context.Context) []string {
	c, ok := ctx.Value(consoleKey{}).(*console)
	if !ok {
		return []string{"webtest: the context does not come from webtest.Start"}
	}
	syncCount.Lock()
	syncCount.n++
	marker := fmt.Sprintf("%s%d", syncPrefix, syncCount.n)
	syncCount.Unlock()
	ch := make(chan struct{})
	c.mu.Lock()
	c.seen[marker] = ch
	c.mu.Unlock()
	var problems []string
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", marker))); err != nil {
		problems = append(problems, "webtest: writing the console marker: "+err.Error())
	} else {
		select {
		case <-ch:
		case <-ctx.Done():
			problems = append(problems, "webtest: waiting for the console marker: "+ctx.Err().Error())
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, marker)
	out := append(c.errors, problems...)
	c.errors = nil
	return out
}

// unsafeName matches what a screenshot's file name may not contain.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a full-page PNG of the tab as name.png (name with
// characters other than letters, digits, '.', '_' and '-' replaced) in the
// directory $SIGNET_ARTIFACTS if it is set (created if needed), else in
// t.TempDir(), logs its path and returns it. A failure fails the test.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("webtest: screenshot %s: %v", name, err)
	}
	dir := os.Getenv("SIGNET_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("webtest: screenshot %s: %v", name, err)
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if name == "" {
		t.Fatal(errors.New("webtest: screenshot: empty name"))
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("webtest: screenshot %s: %v", name, err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// WaitTimeout bounds [Wait].
const WaitTimeout = 30 * time.Second

// Wait evaluates the JavaScript expression js in the tab every 50 ms until
// it is truthy, and fails the test if it is not within [WaitTimeout] (or
// the context ends). Use it instead of chromedp.Poll, which builds its
// predicate with new Function and so is refused by the pages'
// Content-Security-Policy (and reported as a violation); an expression
// evaluated over the DevTools protocol is not subject to it.
func Wait(t testing.TB, ctx context.Context, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	expr := fmt.Sprintf("Boolean(%s)", js)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("webtest: waiting for %s: %v (last error: %v)", js, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// auditJS lists the accessibility problems of what the tab shows: a
// document without a language or title; a visible form control without a
// label (a <label for>, a wrapping label, aria-label or
// aria-labelledby); a visible button or link without an accessible name;
// an image without alt text; duplicate ids; and visible text whose
// contrast with its background is below WCAG 2.2 AA (4.5:1, or 3:1 for
// large text), the background being the nearest opaque one behind it.
const auditJS = `(() => {
  const out = [];
  const visible = (el) => {
    if (el.closest('[hidden], [aria-hidden="true"], .hidden')) return false;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = (el) => {
    const d = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
    return d;
  };
  const labelled = (el) => (el.labels && el.labels.length > 0 && [...el.labels].some((l) => l.textContent.trim() !== '')) ||
    (el.getAttribute('aria-label') || '').trim() !== '' ||
    (el.getAttribute('aria-labelledby') || '').split(/\s+/).some((id) => id && document.getElementById(id) && document.getElementById(id).textContent.trim() !== '') ||
    (el.getAttribute('title') || '').trim() !== '';
  if (!document.documentElement.lang) out.push('html has no lang');
  if (!document.title.trim()) out.push('document has no title');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    if (!labelled(el)) out.push('control without a label: ' + name(el));
  }
  for (const el of document.querySelectorAll('button, a[href], [role="button"], [role="tab"]')) {
    if (!visible(el)) continue;
    const text = (el.textContent || '').trim() || (el.getAttribute('aria-label') || '').trim() || (el.getAttribute('title') || '').trim() ||
      [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join('').trim();
    if (!text && !labelled(el)) out.push('control without a name: ' + name(el));
  }
  for (const el of document.querySelectorAll('img')) {
    if (visible(el) && !el.hasAttribute('alt')) out.push('image without alt: ' + name(el));
  }
  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) out.push('duplicate id: ' + id + ' (' + n + ')');
  const rgba = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== 'none') return null;
      const c = rgba(s.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255];
    for (const c of layers.reverse()) bg = [0, 1, 2].map((i) => c[i] * c[3] + bg[i] * (1 - c[3]));
    return bg;
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.TEXT_NODE);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim() || !visible(el)) continue;
    seen.add(el);
    if (el.closest('canvas, .pdf-page, [disabled], :disabled')) continue;
    const s = getComputedStyle(el);
    const fg = rgba(s.color);
    const bg = background(el);
    if (!fg || !bg) continue;
    const f = [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const l1 = lum(f), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ':1 < ' + need + ':1: ' + name(el) + ' "' + n.textContent.trim().slice(0, 40) + '"');
  }
  return out;
})()`

// Accessibility returns the accessibility problems of what the tab shows
// (see auditJS: language and title, labels of form controls, names of
// buttons and links, alt text, unique ids, text contrast to WCAG 2.2 AA).
func Accessibility(ctx context.Context) ([]string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](auditJS))
}

// Audit fails the test for each accessibility problem of what the tab
// shows ([Accessibility]), naming where (what).
func Audit(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	problems, err := Accessibility(ctx)
	if err != nil {
		t.Fatalf("webtest: accessibility audit of %s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: accessibility: %s", what, p)
	}
}
