package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/web/webtest"
)

// adminPage drives the administration console in one browser tab.
type adminPage struct {
	t   *testing.T
	ctx context.Context
}

// do runs the actions, failing the test with what was being done.
func (p adminPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// adminEval returns the value of a JavaScript expression.
func adminEval[T any](p adminPage, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait waits until a JavaScript expression is true (bounded by the
// browser's timeout), failing with what was awaited and the page's
// alerts.
func (p adminPage) wait(what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		alerts, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](
			`[...document.querySelectorAll('[role=alert], #notice')].map(e => e.textContent.trim()).join(' | ')`))
		p.t.Fatalf("waiting for %s: %v (alerts: %q)", what, err, alerts)
	}
}

// text is the visible text of the element with the given CSS selector.
func (p adminPage) text(sel string) string {
	p.t.Helper()
	return adminEval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel))
}

// fill replaces the value of the input with id.
func (p adminPage) fill(id, value string) {
	p.t.Helper()
	p.do("fill #"+id, chromedp.Clear(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), value))
}

// tab opens a section of the console.
func (p adminPage) tab(name string) {
	p.t.Helper()
	p.do("open "+name, chromedp.Click(chromedp.ID("tab-"+name)))
	p.wait(name+" shown", fmt.Sprintf(`!document.getElementById('section-%s').classList.contains('hidden')`, name))
}

// confirm accepts the confirmation dialog.
func (p adminPage) confirm() {
	p.t.Helper()
	p.wait("the confirmation dialog", `document.getElementById('confirm-dialog').open`)
	p.do("confirm", chromedp.Click(chromedp.ID("confirm-ok")))
}

// clean fails the test on any console error or CSP violation so far.
func (p adminPage) clean(when string) {
	p.t.Helper()
	if errs := webtest.ConsoleErrors(p.ctx); len(errs) > 0 {
		p.t.Fatalf("%s: the page reported errors: %q", when, errs)
	}
}

// adminSealPurpose is the purpose GET /v1/keys names the tenant's seal key by.
const adminSealPurpose = "platform-seal"

// expect fails the test unless the page reported exactly one error so
// far, a failed load whose message holds status and whose URL ends with
// path (an answer the flow expects, such as a refusal).
func (p adminPage) expect(when, status, path string) {
	p.t.Helper()
	errs := webtest.ConsoleErrors(p.ctx)
	if len(errs) != 1 || !strings.Contains(errs[0], status) || !strings.Contains(errs[0], path+":") {
		p.t.Fatalf("%s: the page reported %q, want only the %s of %s", when, errs, status, path)
	}
}

var adminNonID = regexp.MustCompile(`[^a-z0-9-]+`)

// adminIDPart is admin.js's element id of a datum.
func adminIDPart(s string) string { return adminNonID.ReplaceAllString(strings.ToLower(s), "-") }

// TestAdminConsole: a tenant's first administrator, elevated by
// break-glass, signs in at /admin with a password and a TOTP code and, in
// the browser, invites a colleague (whose invitation link sets his
// password in his own browser), grants him a role and approves his
// elevation; once he has approved hers and taken her off the break-glass
// list, her approval of her own request is refused with a visible
// message. She creates an API key whose secret is shown once and never
// again after a reload, sees the tenant's keys with their expiry, rotates
// the seal key after the TOTP step-up the API asks for, reads, filters
// and pages the audit events and the checkpoint, downloads the access
// review as CSV, moves between tabs with the arrow keys, disables the
// colleague (whose session ends) and adds a webhook endpoint; every
// section fits a phone's width, and the pages report no error and no CSP
// violation beyond the refusals the flow expects.
func TestAdminConsole(t *testing.T) {
	clk := &movedClock{}
	// Webhook endpoints may be local: the test's endpoint is loopback.
	local := func(c *server.Config) { c.Webhooks = server.WebhookConfig{AllowPrivateNetworks: true} }
	r := start(t, filepath.Join(t.TempDir(), "data"), local, server.WithClock(clk.Now))
	platform := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", platform, map[string]string{"name": "Console Ltd"})
	var tn accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		t.Fatalf("tenant: %d %s", res.status, res.body)
	}
	var first struct {
		UserID     string `json:"user_id"`
		Invitation struct{ Token string }
	}
	res = r.do("POST", "/v1/tenants/"+tn.ID+"/first-admin", platform, map[string]string{"email": "ada@example.com", "name": "Ada"})
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &first) != nil {
		t.Fatalf("first admin: %d %s", res.status, res.body)
	}
	const adaPassword, bobPassword = "correct horse battery staple 1917", "a long passphrase nobody guesses 42"
	// Ada accepts her invitation and enrols TOTP through the API (the
	// console at / does that); the administration console starts at the
	// sign-in.
	setup := r.browser(t)
	setup.must(http.StatusNoContent, "POST", "/v1/invitations/redeem", map[string]string{"token": first.Invitation.Token, "password": adaPassword}, nil)
	setup.must(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"tenant": tn.ID, "email": "ada@example.com", "password": adaPassword}, nil)
	adaKey := setup.enrolTOTP(clk.Now().Add(-30 * time.Second))
	// Her standing tenant-admin grant does not count: being on the
	// break-glass list, she elevates herself (which alerts).
	var boot struct{ ID string }
	setup.must(http.StatusCreated, "POST", "/v1/elevations", map[string]any{"role": "tenant-admin", "reason": "bootstrap the tenant", "duration_seconds": 3600}, &boot)
	setup.must(http.StatusOK, "POST", "/v1/elevations/"+boot.ID+"/break-glass", nil, nil)

	p := adminPage{t: t, ctx: webtest.Start(t)}
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}

	// Sign in: password, then the TOTP code.
	p.do("open /admin", chromedp.Navigate(r.base+"/admin"))
	p.wait("the sign-in form", `!document.getElementById('section-login').classList.contains('hidden')`)
	p.fill("login-tenant", tn.ID)
	p.fill("login-email", "ada@example.com")
	p.fill("login-password", adaPassword)
	p.do("sign in", chromedp.Click(chromedp.ID("login-submit")))
	p.wait("the code form", `!document.getElementById('totp-form').classList.contains('hidden')`)
	code, _ := adaKey.CodeAt(clk.Now())
	p.fill("login-totp", code)
	p.do("send the code", chromedp.Click(chromedp.ID("totp-submit")))
	p.wait("the console", `!document.getElementById('section-users').classList.contains('hidden')`)
	if who := p.text("#whoami-name"); !strings.Contains(who, "ada@example.com") {
		t.Errorf("the header names %q, want Ada", who)
	}
	p.clean("sign-in")

	// Invite Bob with the sender role; the link is shown once and works.
	p.tab("users")
	p.wait("Ada listed", `!document.getElementById('users-refresh').disabled && document.querySelector('#users-table tr[data-email="ada@example.com"]') !== null`)
	p.fill("invite-email", "bob@example.com")
	p.fill("invite-name", "Bob")
	p.do("check sender", chromedp.Click(chromedp.ID("invite-role-sender")))
	p.do("invite", chromedp.Click(chromedp.ID("invite-submit")))
	p.wait("the invitation link", `!document.getElementById('invite-result').classList.contains('hidden')`)
	link := adminEval[string](p, `document.getElementById('invite-link').value`)
	prefix := r.base + "/admin#invitation="
	if !strings.HasPrefix(link, prefix) {
		t.Fatalf("invitation link %q, want %s…", link, prefix)
	}
	bobToken, err := url.QueryUnescape(strings.TrimPrefix(link, prefix))
	if err != nil || !strings.HasPrefix(bobToken, "sgi_") {
		t.Fatalf("invitation token %q: %v", bobToken, err)
	}
	p.wait("Bob listed", `document.querySelector('#users-table tr[data-email="bob@example.com"]') !== null`)
	bobID := adminEval[string](p, `document.querySelector('#users-table tr[data-email="bob@example.com"]').dataset.userId`)

	// Grant Bob the auditor role.
	p.do("choose Bob", chromedp.SetValue(chromedp.ID("grant-user"), bobID))
	p.do("choose auditor", chromedp.SetValue(chromedp.ID("grant-role"), "auditor"))
	p.do("grant", chromedp.Click(chromedp.ID("grant-submit")))
	p.wait("Bob's roles", `(() => { const c = document.querySelector('#users-table tr[data-email="bob@example.com"] .roles-cell');
		return c && c.textContent.includes('auditor') && c.textContent.includes('sender'); })()`)
	webtest.Screenshot(t, p.ctx, "admin-users")
	webtest.Audit(t, p.ctx, "admin-users")
	p.clean("users")

	// Bob accepts the invitation from the link, enrols TOTP and asks to
	// be a tenant administrator.
	// Bob opens the link in his own browser and sets his password; the
	// token leaves the address bar.
	bp := adminPage{t: t, ctx: webtest.Start(t)}
	bp.do("open the invitation", chromedp.Navigate(link))
	bp.wait("the password form", `!document.getElementById('section-redeem').classList.contains('hidden')`)
	if loc := adminEval[string](bp, `location.href`); strings.Contains(loc, "sgi_") {
		t.Errorf("the invitation token stays in the address bar: %s", loc)
	}
	bp.fill("redeem-password", bobPassword)
	bp.fill("redeem-password2", bobPassword)
	bp.do("set the password", chromedp.Click(chromedp.ID("redeem-submit")))
	bp.wait("the sign-in form", `!document.getElementById('section-login').classList.contains('hidden')`)
	bp.clean("invitation")
	bob := r.browser(t)
	bob.must(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"tenant": tn.ID, "email": "bob@example.com", "password": bobPassword}, nil)
	bob.enrolTOTP(clk.Now().Add(-30 * time.Second))
	var bobReq struct{ ID string }
	bob.must(http.StatusCreated, "POST", "/v1/elevations", map[string]any{"role": "tenant-admin", "reason": "manage the integration keys", "duration_seconds": 1800}, &bobReq)

	// Ada approves Bob's request.
	p.tab("elevations")
	approveBob := "approve-" + adminIDPart(bobReq.ID)
	p.wait("Bob's request", fmt.Sprintf(`!document.getElementById('elevations-refresh').disabled && document.getElementById(%q) !== null`, approveBob))
	if req := p.text(fmt.Sprintf(`tr[data-elevation-id=%q]`, bobReq.ID)); !strings.Contains(req, "bob@example.com") || !strings.Contains(req, "manage the integration keys") {
		t.Errorf("Bob's request reads %q", req)
	}
	p.do("approve Bob", chromedp.Click(chromedp.ID(approveBob)))
	p.confirm()
	p.wait("the approval", `document.getElementById('notice').textContent.includes('Approved')`)

	// Ada asks to stay a tenant administrator without break-glass; Bob
	// approves, makes her an auditor (nobody grants a role to themselves)
	// and takes her off the break-glass list.
	p.do("choose tenant-admin", chromedp.SetValue(chromedp.ID("elevation-role"), "tenant-admin"))
	p.fill("elevation-reason", "administer the tenant")
	p.do("request", chromedp.Click(chromedp.ID("elevation-submit")))
	mine := func(role string) string {
		return `document.querySelector('#elevations-table tr[data-requester="` + first.UserID + `"][data-role="` + role + `"]')`
	}
	p.wait("her request", mine("tenant-admin")+` !== null`)
	adaReq := adminEval[string](p, mine("tenant-admin")+`.dataset.elevationId`)
	bob.must(http.StatusOK, "POST", "/v1/elevations/"+adaReq+"/approve", nil, nil)
	bob.must(http.StatusCreated, "POST", "/v1/users/"+first.UserID+"/grants", map[string]any{"role": "auditor"}, nil)
	bob.adminPutPolicy(func(pol map[string]any) { pol["break_glass"] = []string{} })
	p.clean("elevation request")

	// Her own request cannot be approved by herself: the refusal shows.
	p.do("choose key-custodian", chromedp.SetValue(chromedp.ID("elevation-role"), "key-custodian"))
	p.fill("elevation-reason", "rotate the seal key")
	p.do("request", chromedp.Click(chromedp.ID("elevation-submit")))
	p.wait("her own request", mine("key-custodian")+` !== null`)
	ownID := adminEval[string](p, mine("key-custodian")+`.dataset.elevationId`)
	p.do("approve her own", chromedp.Click(chromedp.ID("approve-"+adminIDPart(ownID))))
	p.confirm()
	p.wait("the refusal", `(document.querySelector('#elevations-alert [role=alert]') || {textContent: ''}).textContent.includes('separation of duties')`)
	if msg := p.text("#elevations-alert"); !strings.Contains(msg, "nobody approves their own elevation") {
		t.Errorf("refusal reads %q", msg)
	}
	webtest.Screenshot(t, p.ctx, "admin-elevations")
	webtest.Audit(t, p.ctx, "admin-elevations")
	// The browser reports the refused request; nothing else.
	p.expect("elevations", "status of 403", "/v1/elevations/"+ownID+"/approve")
	// Bob approves it.
	bob.must(http.StatusOK, "POST", "/v1/elevations/"+ownID+"/approve", nil, nil)
	p.do("refresh", chromedp.Click(chromedp.ID("elevations-refresh")))
	p.wait("her request decided", fmt.Sprintf(`document.querySelector('tr[data-elevation-id=%q]') === null`, ownID))

	// An API key: the secret is shown once, with a copy button.
	p.tab("api-keys")
	p.fill("apikey-name", "review export")
	p.do("check auditor", chromedp.Click(chromedp.ID("apikey-role-auditor")))
	p.fill("apikey-actions", "access.review")
	p.do("create the key", chromedp.Click(chromedp.ID("apikey-submit")))
	p.wait("the secret", `!document.getElementById('apikey-secret-panel').classList.contains('hidden')`)
	secret := adminEval[string](p, `document.getElementById('apikey-secret').value`)
	p.wait("the key listed", `document.querySelector('#apikeys-table tr[data-name="review export"]') !== null`)
	webtest.Screenshot(t, p.ctx, "admin-api-keys")
	webtest.Audit(t, p.ctx, "admin-api-keys")
	if !keyRE.MatchString(secret) {
		t.Fatalf("secret %q is not an API key", secret)
	}
	if n := adminEval[int](p, `document.querySelectorAll('#apikey-copy').length`); n != 1 {
		t.Error("no copy button beside the secret")
	}
	p.wait("the key listed", `document.querySelector('#apikeys-table tr[data-name="review export"]') !== null`)
	if got := r.do("GET", "/v1/access-review", secret, nil); got.status != http.StatusOK {
		t.Errorf("the new key reads the access review: %d %s", got.status, got.body)
	}
	// After a reload the key is listed, its secret nowhere.
	p.do("reload", chromedp.Reload())
	p.wait("the key listed again", `document.querySelector('#apikeys-table tr[data-name="review export"]') !== null`)
	if adminEval[bool](p, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || [...document.querySelectorAll('input')].some(i => i.value.includes(%q))`, secret, secret)) {
		t.Error("the secret is still on the page after a reload")
	}
	p.clean("API keys")

	// Keys and certificates, with their expiry.
	p.tab("keys")
	p.wait("the keys", `document.querySelector('#keys-table tr[data-key-id]') !== null`)
	if txt := p.text("#keys-table"); !strings.Contains(txt, "expires in") {
		t.Errorf("no expiry shown: %q", txt)
	}
	// Rotating the seal key is a risky action: once her last strong
	// authentication is older than the step-up window, the API asks for
	// a new one, the console asks for a code and tries again.
	seal := `document.querySelector('#keys-table tr[data-purpose="` + adminSealPurpose + `"][data-status="active"]')`
	p.wait("the seal key", seal+` !== null`)
	sealID := adminEval[string](p, seal+`.dataset.keyId`)
	oldVersion := adminEval[string](p, seal+`.dataset.version`)
	clk.Set(time.Now().Add(11 * time.Minute))
	p.do("rotate the seal key", chromedp.Click(chromedp.ID("rotate-key-"+adminIDPart(sealID))))
	p.confirm()
	p.wait("the step-up dialog", `document.getElementById('stepup-dialog').open`)
	code, _ = adaKey.CodeAt(clk.Now())
	p.fill("stepup-code", code)
	p.do("step up", chromedp.Click(chromedp.ID("stepup-submit")))
	p.wait("the new seal key version", fmt.Sprintf(`(() => { const r = %s; return r !== null && r.dataset.version !== %q; })()`, seal, oldVersion))
	webtest.Screenshot(t, p.ctx, "admin-keys")
	webtest.Audit(t, p.ctx, "admin-keys")
	retired := fmt.Sprintf(`#keys-table tr[data-key-id=%q][data-version=%q]`, sealID, oldVersion)
	if st := adminEval[string](p, fmt.Sprintf(`document.querySelector(%q).dataset.status`, retired)); st != "retired" {
		t.Errorf("the old seal key version is %q, want retired", st)
	}
	if adminEval[bool](p, `document.getElementById('stepup-dialog').open`) {
		t.Error("the step-up dialog stays open")
	}
	// The browser reports the first attempt, answered "step-up required".
	p.expect("keys", "status of 401", "/v1/keys/"+sealID+"/rotate")

	// The audit log: events (with the elevation approvals) and the
	// checkpoint, published now rather than by the publisher's timer.
	if err := r.srv.PublishCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.tab("audit")
	p.wait("the events", `document.querySelector('#audit-table tr[data-type="admin.elevated"]') !== null`)
	p.wait("the checkpoint", `document.getElementById('checkpoint-text').textContent.trim() !== ''`)
	if size := p.text("#checkpoint-size"); size == "" || size == "0" {
		t.Errorf("checkpoint size %q", size)
	}
	webtest.Screenshot(t, p.ctx, "admin-audit")
	webtest.Audit(t, p.ctx, "admin-audit")
	// Filtered by an envelope that has no event, the list is empty; all
	// events come back after.
	p.fill("audit-envelope", "env_none")
	p.do("filter", chromedp.Click(chromedp.ID("audit-filter-submit")))
	p.wait("no event", `!document.getElementById('audit-empty').classList.contains('hidden') && document.querySelector('#audit-table tbody tr') === null`)
	p.do("show all", chromedp.Click(chromedp.ID("audit-filter-clear")))
	p.wait("the events again", `document.querySelector('#audit-table tr[data-type="admin.elevated"]') !== null`)
	// More events page in after the first page.
	p.do("load more", chromedp.Click(chromedp.ID("audit-more")))
	p.wait("the next page", `document.querySelectorAll('#audit-table tbody tr').length > 25`)
	p.clean("audit")

	// The access review lists both people; its CSV is downloaded.
	p.tab("review")
	p.wait("the review", `document.querySelector('#review-table tr[data-principal-id="`+bobID+`"]') !== null`)
	webtest.Screenshot(t, p.ctx, "admin-review")
	webtest.Audit(t, p.ctx, "admin-review")
	p.do("export", chromedp.Click(chromedp.ID("review-export")))
	csv := string(adminDownloaded(t, downloads, "access-review-*.csv"))
	if !strings.HasPrefix(csv, "kind,id,name,email,") || !strings.Contains(csv, first.UserID) || !strings.Contains(csv, bobID) {
		t.Errorf("exported CSV:\n%s", csv)
	}
	p.clean("access review")

	// The tabs answer the arrow keys.
	p.do("focus the tab", chromedp.Focus(chromedp.ID("tab-review")))
	p.do("arrow left", chromedp.KeyEvent(kb.ArrowLeft))
	p.wait("the audit tab", `location.hash === '#audit' && document.activeElement.id === 'tab-audit'`)

	// Disabling Bob asks for confirmation and ends his session.
	p.tab("users")
	disable := "disable-" + adminIDPart(bobID)
	p.wait("Bob's disable button", fmt.Sprintf(`!document.getElementById('users-refresh').disabled && document.getElementById(%q) !== null`, disable))
	p.do("disable Bob", chromedp.Click(chromedp.ID(disable)))
	p.confirm()
	p.wait("Bob disabled", `(document.querySelector('#users-table tr[data-email="bob@example.com"]') || {textContent: ''}).textContent.includes('disabled')`)
	if got := bob.call("GET", "/v1/auth/session", "", nil, nil); got != http.StatusUnauthorized {
		t.Errorf("the disabled user's session: %d, want 401", got)
	}
	p.clean("disable")

	// A webhook endpoint: its signing secret is shown once.
	p.tab("webhooks")
	p.fill("webhook-url", "https://127.0.0.1:9/signet")
	p.do("choose key.rotated", chromedp.Click(chromedp.ID("webhook-event-key-rotated")))
	p.do("add the endpoint", chromedp.Click(chromedp.ID("webhook-submit")))
	p.wait("the webhook secret", `!document.getElementById('webhook-secret-panel').classList.contains('hidden')`)
	if s := adminEval[string](p, `document.getElementById('webhook-secret').value`); !strings.HasPrefix(s, "whsec_") {
		t.Errorf("webhook secret %q", s)
	}
	p.wait("the endpoint listed", `document.querySelector('#webhooks-table tr[data-webhook-id]') !== null`)
	p.clean("webhooks")

	// On a phone's width every section fits: wide tables scroll inside
	// their own box, never the page.
	p.do("phone width", chromedp.EmulateViewport(390, 844))
	for _, name := range []string{"users", "api-keys", "elevations", "keys", "audit", "review", "webhooks"} {
		p.tab(name)
		if w := adminEval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("%s: the page is %d px wider than a phone's screen", name, w)
		}
	}
	webtest.Screenshot(t, p.ctx, "admin-phone")
	webtest.Audit(t, p.ctx, "admin-phone")
	p.clean("phone")
}

// adminPutPolicy reads the tenant policy, changes it with mod and stores it.
func (b *browser) adminPutPolicy(mod func(map[string]any)) {
	b.t.Helper()
	var pol map[string]any
	b.must(http.StatusOK, "GET", "/v1/policy", nil, &pol)
	version := fmt.Sprint(pol["version"])
	for _, k := range []string{"version", "updated_by", "updated_at"} {
		delete(pol, k)
	}
	mod(pol)
	body, _ := json.Marshal(pol)
	req, _ := http.NewRequest("PUT", b.r.base+"/v1/policy", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("If-Match", `"`+version+`"`)
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		b.t.Fatalf("PUT /v1/policy: %d %s", res.StatusCode, raw)
	}
}

// adminDownloaded waits for a file matching pattern in dir and returns its
// contents.
func adminDownloaded(t *testing.T, dir, pattern string) []byte {
	t.Helper()
	for range 300 {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) == 1 {
			b, err := os.ReadFile(m[0])
			if err == nil && len(b) > 0 {
				return b
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no download matching %s in %s", pattern, dir)
	return nil
}
