package server_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/password"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/web/webtest"
	"github.com/signet-pki/signet/pades"
)

// updateScreenshots, when set to 1, makes TestWebJourney copy its key
// screenshots into docs/screenshots (the README shows them); otherwise
// the test never writes into the tree.
const updateScreenshots = "SIGNET_UPDATE_SCREENSHOTS"

// webSender creates a tenant and a user of it with the sender role, a
// password and a confirmed TOTP authenticator (enrolled through the API,
// as the user would), and returns the tenant id and the TOTP key.
func webSender(t *testing.T, r *running, email, pw string) (string, totp.Key) {
	t.Helper()
	tenant := webNewSender(t, r, email, pw)
	b := r.browser(t)
	b.must(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"tenant": tenant, "email": email, "password": pw}, nil)
	// Confirmed with the previous time step, so that the browser's code
	// (the current step) is a new one.
	key := b.enrolTOTP(time.Now().Add(-30 * time.Second))
	b.must(http.StatusNoContent, "POST", "/v1/auth/logout", nil, nil)
	return tenant, key
}

// webNewSender creates a tenant and a user of it with the sender role
// and a password but no second factor yet (their first login enrols
// one), and returns the tenant id.
func webNewSender(t *testing.T, r *running, email, pw string) string {
	t.Helper()
	res := r.do("POST", "/v1/tenants", r.bootstrapKey(), map[string]string{"name": "Web Journey"})
	var tn accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		t.Fatalf("tenant: %d %s", res.status, res.body)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	st, now := r.srv.IdentityStore(), time.Now().UTC()
	if err := st.CreateUser(t.Context(), identity.User{ID: "u-sam", Tenant: tn.ID, Email: email, Name: "Sam Sender",
		Status: identity.StatusActive, CreatedAt: now, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGrant(t.Context(), identity.Grant{ID: "g-sam", Tenant: tn.ID, UserID: "u-sam", Role: authz.RoleSender,
		GrantedBy: "u-boss", GrantedAt: now}); err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// enrolledKey reads the TOTP secret key the console's enrolment step
// shows (in groups of four) and checks it against the provisioning URI
// of its "Open in authenticator app" link and the account shown.
func enrolledKey(t *testing.T, j *journey, email string) totp.Key {
	t.Helper()
	shown := jsEval[string](j, `document.getElementById('totp-secret').textContent`)
	groups := strings.Fields(shown)
	for i, g := range groups {
		if len(g) != 4 && (i < len(groups)-1 || len(g) > 4) {
			t.Errorf("secret key %q is not in groups of four", shown)
		}
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.Join(groups, ""))
	if err != nil {
		t.Fatalf("secret key %q: %v", shown, err)
	}
	uriKey, issuer, account, err := totp.ParseURI(jsEval[string](j, `document.getElementById('totp-uri').getAttribute('href')`))
	if err != nil {
		t.Fatalf("otpauth link: %v", err)
	}
	if !bytes.Equal(secret, uriKey.Secret) {
		t.Errorf("the secret key shown %q is not the otpauth link's", shown)
	}
	if got := jsEval[string](j, `document.getElementById('totp-account').textContent`); got != email || account != email {
		t.Errorf("account shown %q, in the link %q, want %q", got, account, email)
	}
	if got := jsEval[string](j, `document.getElementById('totp-issuer').textContent`); got != issuer || issuer == "" {
		t.Errorf("issuer shown %q, in the link %q", got, issuer)
	}
	return totp.Key{Algorithm: totp.SHA1, Digits: 6, Secret: secret}
}

// rect is an element's box in the viewport, in CSS pixels.
type rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

func (r rect) at(fx, fy float64) (float64, float64) { return r.X + fx*r.W, r.Y + fy*r.H }

// placed is a field box of the console as its data attributes state it
// (PDF points, lower-left origin).
type placed struct {
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	Recipient int     `json:"recipient"`
	Page      int     `json:"page"`
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	Width     float64 `json:"width"`
	Height    float64 `json:"height"`
}

// journey drives one browser tab through the console and the signing
// page.
type journey struct {
	t    *testing.T
	ctx  context.Context
	r    *running
	dir  string // downloads
	mu   sync.Mutex
	done map[string]bool // completed download GUIDs
	keep map[string]string
}

func (j *journey) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		j.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		j.t.Fatalf("%s: %v", what, err)
	}
}

// poll waits until the expression is true in the page.
func (j *journey) poll(what, expr string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		j.shot("failed-" + what)
		j.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func jsEval[T any](j *journey, expr string) T {
	j.t.Helper()
	v, err := chromedp.Run(j.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		j.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// shot takes a screenshot, audits the page's accessibility and fails on
// any error the page reported.
func (j *journey) shot(name string) {
	j.t.Helper()
	path := webtest.Screenshot(j.t, j.ctx, name)
	webtest.Audit(j.t, j.ctx, name)
	j.keep[name] = path
	if errs := webtest.ConsoleErrors(j.ctx); len(errs) > 0 {
		j.t.Fatalf("the page reported errors by %s:\n%s", name, strings.Join(errs, "\n"))
	}
}

func (j *journey) rectOf(sel string) rect {
	j.t.Helper()
	return jsEval[rect](j, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {x: r.left, y: r.top, w: r.width, h: r.height}; })()`, sel))
}

func (j *journey) fields() []placed {
	j.t.Helper()
	return jsEval[[]placed](j, `[...document.querySelectorAll('#pdf-pages .field-box')].map(b => ({id: b.id, kind: b.dataset.kind,
		recipient: +b.dataset.recipient, page: +b.dataset.page, x: +b.dataset.x, y: +b.dataset.y, width: +b.dataset.width, height: +b.dataset.height}))`)
}

func (j *journey) field(recipient int, kind string) placed {
	j.t.Helper()
	for _, f := range j.fields() {
		if f.Recipient == recipient && f.Kind == kind {
			return f
		}
	}
	j.t.Fatalf("no %s field of recipient %d", kind, recipient)
	return placed{}
}

// download clicks sel and returns the bytes of the file the browser saved.
func (j *journey) download(sel string) []byte {
	j.t.Helper()
	b := j.tryDownload(sel, "false")
	if b == nil {
		j.shot("failed-download")
		j.t.Fatalf("%s: no download", sel)
	}
	return b
}

// tryDownload clicks sel and returns the bytes of the file the browser
// saved, or nil once the expression refused is true in the page.
func (j *journey) tryDownload(sel, refused string) []byte {
	j.t.Helper()
	j.run("download "+sel, chromedp.Click(chromedp.ID(sel)))
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		j.mu.Lock()
		for guid, fresh := range j.done {
			if fresh {
				j.done[guid] = false
				j.mu.Unlock()
				b, err := os.ReadFile(filepath.Join(j.dir, guid))
				if err != nil {
					j.t.Fatal(err)
				}
				return b
			}
		}
		j.mu.Unlock()
		if jsEval[bool](j, refused) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	j.shot("failed-download")
	j.t.Fatalf("%s: no download", sel)
	return nil
}

func nearPt(a, b float64) bool { return math.Abs(a-b) <= 1.5 }

// startJourney starts a browser whose downloads land in a temporary
// directory.
func startJourney(t *testing.T, r *running) *journey {
	t.Helper()
	j := &journey{t: t, ctx: webtest.Start(t), r: r, dir: t.TempDir(), done: map[string]bool{}, keep: map[string]string{}}
	progress := chromedp.Events(j.ctx, cdpbrowser.DownloadProgress)
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State == cdpbrowser.DownloadProgressStateCompleted {
				j.mu.Lock()
				j.done[ev.GUID] = true
				j.mu.Unlock()
			}
		}
	}()
	j.run("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: j.dir, EventsEnabled: &yes})
		return err
	}))
	return j
}

// login logs in on the console's login page with a password and a TOTP
// code of the time step at.
func (j *journey) login(tenant, email, pw string, key totp.Key, at time.Time) {
	j.t.Helper()
	code, err := key.CodeAt(at)
	if err != nil {
		j.t.Fatal(err)
	}
	j.run("log in",
		chromedp.SendKeys(chromedp.ID("login-tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("login-email"), email),
		chromedp.SendKeys(chromedp.ID("login-password"), pw),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("mfa-code")),
		chromedp.SendKeys(chromedp.ID("mfa-code"), code),
		chromedp.Click(chromedp.ID("mfa-submit")),
		chromedp.WaitVisible(chromedp.ID("top-nav")))
}

// TestWebJourney is the web interface's acceptance test, in headless
// Chromium against a real server: a sender logs in with a password and a
// TOTP code, uploads a PDF, places fields for two recipients by dragging
// them from the palette onto the rendered page (then moves one, resizes
// one with the pointer and moves one with the keyboard), and sends; each
// recipient opens the e-mailed link, proves the address with the e-mailed
// code, fills their fields (one draws, one types) and signs; the sender
// sees the envelope completed with its timeline of audit events (each
// recipient's authentication and signature among them, every one anchored
// once a checkpoint is published), downloads the signed PDF
// (valid in pades.Verify and pdfsig, with the filled fields) and the
// evidence bundle, which `signet verify`'s check accepts. No page reports
// an error or a Content-Security-Policy violation.
func TestWebJourney(t *testing.T) {
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.SMTP = server.SMTPConfig{Addr: box.Addr(), From: "signet@web.invalid"}
	})
	const email, pw = "sam@sender.example", "a sender's long passphrase 2026"
	tenant := webNewSender(t, r, email, pw)
	mb := &apiclient.Mailbox{Inbox: box.Sent()}

	j := startJourney(t, r)

	// Log in: a wrong password is refused with a clear message; the
	// password of a user without a second factor leads to the enrolment
	// of an authenticator app, whose first code opens the console after
	// the recovery codes.
	j.run("open the console", chromedp.Navigate(r.base+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	j.shot("console-login")
	j.run("wrong password",
		chromedp.SendKeys(chromedp.ID("login-tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("login-email"), email),
		chromedp.SendKeys(chromedp.ID("login-password"), "not the password at all"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error [role=alert]")))
	if msg := jsEval[string](j, `document.getElementById('login-error').textContent`); !strings.Contains(msg, "wrong") {
		t.Errorf("wrong password: %q", msg)
	}
	// The browser reports the refused login as a failed load, and nothing else.
	if errs := webtest.ConsoleErrors(j.ctx); len(errs) != 1 || !strings.Contains(errs[0], "401") || !strings.Contains(errs[0], "/v1/auth/login") {
		t.Errorf("after a wrong password the page reported %q", errs)
	}
	j.run("password",
		chromedp.SendKeys(chromedp.ID("login-password"), pw),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("enrol-code")))
	j.poll("the secret key", `document.getElementById('totp-secret').textContent !== ''`)
	j.shot("console-enrol")
	if focused := jsEval[string](j, `document.activeElement.id`); focused != "enrol-title" {
		t.Errorf("the enrolment step focuses %q", focused)
	}
	key := enrolledKey(t, j, email)
	code, err := key.CodeAt(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// A wrong first code is refused with a clear message, and the field
	// is emptied for the next one.
	wrong := []byte(code)
	wrong[0] = '0' + (wrong[0]-'0'+5)%10
	j.run("wrong first code",
		chromedp.SendKeys(chromedp.ID("enrol-code"), string(wrong)),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error [role=alert]")))
	if msg := jsEval[string](j, `document.getElementById('login-error').textContent`); !strings.Contains(msg, "wrong") {
		t.Errorf("wrong first code: %q", msg)
	}
	if errs := webtest.ConsoleErrors(j.ctx); len(errs) != 1 || !strings.Contains(errs[0], "/v1/me/mfa/totp/confirm") {
		t.Errorf("after a wrong first code the page reported %q", errs)
	}
	j.run("first code",
		chromedp.SendKeys(chromedp.ID("enrol-code"), code),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery-done")))
	j.poll("the recovery codes", `document.querySelectorAll('#recovery-codes li').length > 0`)
	codes := jsEval[[]string](j, `[...document.querySelectorAll('#recovery-codes li')].map((li) => li.textContent)`)
	if len(codes) < 8 || slices.Contains(codes, "") {
		t.Errorf("recovery codes shown: %q", codes)
	}
	if s := jsEval[string](j, `document.getElementById('totp-secret').textContent`); s != "" {
		t.Errorf("the secret key stays on the page after the enrolment: %q", s)
	}
	j.shot("console-recovery-codes")
	j.run("codes saved",
		chromedp.Click(chromedp.ID("recovery-done")),
		chromedp.WaitVisible(chromedp.ID("view-envelopes")))
	if n := jsEval[int](j, `document.querySelectorAll('#recovery-codes li').length`); n != 0 {
		t.Errorf("%d recovery codes stay on the page", n)
	}
	// After a reload the console opens logged in: neither the secret key
	// nor the recovery codes come back.
	j.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("view-envelopes")))
	j.poll("the reloaded console", `document.body.dataset.ready === 'true'`)
	if s := jsEval[string](j, `document.getElementById('totp-secret').textContent + document.getElementById('recovery-codes').textContent`); s != "" {
		t.Errorf("after a reload the page shows %q", s)
	}
	if jsEval[bool](j, `!document.getElementById('view-login').classList.contains('hidden')`) {
		t.Error("after a reload the login view is shown")
	}
	if who := jsEval[string](j, `document.getElementById('user-email').textContent`); who != email {
		t.Errorf("logged in as %q", who)
	}
	if jsEval[bool](j, `!document.getElementById('nav-admin').classList.contains('hidden')`) {
		t.Error("a sender is offered the administration console")
	}
	j.shot("console-envelopes-empty")

	// Upload.
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "Consulting agreement",
		Lines: []string{"The parties agree on the terms below.", "Signed by both parties."}}); err != nil {
		t.Fatal(err)
	}
	pdfPath := filepath.Join(t.TempDir(), "Consulting agreement.pdf")
	if err := os.WriteFile(pdfPath, sample.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	j.run("upload",
		chromedp.Click(chromedp.ID("nav-new")),
		chromedp.WaitVisible(chromedp.ID("upload-drop")),
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{pdfPath}),
		chromedp.WaitEnabled(chromedp.ID("step-1-next")))
	j.shot("console-new-upload")

	// Recipients.
	signers := [][2]string{{"Alice Client", "alice@client.example"}, {"Bob Partner", "bob@partner.example"}}
	j.run("recipients",
		chromedp.Click(chromedp.ID("step-1-next")),
		chromedp.WaitVisible(chromedp.ID("env-subject")),
		chromedp.SendKeys(chromedp.ID("env-message"), "Please sign the consulting agreement."),
		chromedp.SendKeys(chromedp.ID("recipient-name-0"), signers[0][0]),
		chromedp.SendKeys(chromedp.ID("recipient-email-0"), signers[0][1]),
		chromedp.Click(chromedp.ID("add-recipient")),
		chromedp.SendKeys(chromedp.ID("recipient-name-1"), signers[1][0]),
		chromedp.SendKeys(chromedp.ID("recipient-email-1"), signers[1][1]))
	if subject := jsEval[string](j, `document.getElementById('env-subject').value`); subject != "Consulting agreement" {
		t.Errorf("subject %q, want the document's name", subject)
	}
	j.shot("console-new-recipients")

	// Fields: dragged from the palette onto page 1.
	j.run("render the pages",
		chromedp.Click(chromedp.ID("step-2-next")),
		chromedp.WaitVisible(chromedp.CSS("#page-1 canvas")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('page-1').scrollIntoView({block: 'start'})`))
	drops := []struct {
		recipient int
		kind      string
		fx, fy    float64 // the drop point, as fractions of the page
		w, h      float64 // the default size, points
	}{
		{0, "signature", 0.30, 0.32, 180, 40},
		{0, "date", 0.30, 0.45, 100, 20},
		{1, "signature", 0.70, 0.32, 180, 40},
		{1, "initials", 0.70, 0.45, 60, 36},
	}
	for _, d := range drops {
		from := j.rectOf(fmt.Sprintf("#palette-%d-%s", d.recipient, d.kind))
		pageBox := j.rectOf("#page-1")
		fx, fy := from.at(0.5, 0.5)
		tx, ty := pageBox.at(d.fx, d.fy)
		j.run("drag "+d.kind, chromedp.DragAndDropXY(fx, fy, tx, ty, 12))
	}
	fs := j.fields()
	if len(fs) != len(drops) {
		t.Fatalf("%d fields placed, want %d: %+v", len(fs), len(drops), fs)
	}
	// The page in points: the field boxes give its scale.
	pageBox := j.rectOf("#page-1")
	scale := jsEval[float64](j, `(() => { const b = document.querySelector('#pdf-pages .field-box'); return b.getBoundingClientRect().width / +b.dataset.width; })()`)
	pw0, ph0 := pageBox.W/scale, pageBox.H/scale
	for _, d := range drops {
		f := j.field(d.recipient, d.kind)
		wantX := d.fx*pw0 - d.w/2
		wantY := ph0 - d.fy*ph0 - d.h/2
		if f.Page != 1 || !nearPt(f.X, wantX) || !nearPt(f.Y, wantY) || !nearPt(f.Width, d.w) || !nearPt(f.Height, d.h) {
			t.Errorf("%s of recipient %d at %+v, want (%.1f, %.1f) %gx%g on page 1", d.kind, d.recipient, f, wantX, wantY, d.w, d.h)
		}
	}

	// Move Bob's initials 40 px down with the pointer.
	ini := j.field(1, "initials")
	b := j.rectOf("#" + ini.ID)
	cx, cy := b.at(0.3, 0.6)
	j.run("move initials", chromedp.DragAndDropXY(cx, cy, cx, cy+40, 8))
	if got := j.field(1, "initials"); !nearPt(got.X, ini.X) || !nearPt(got.Y, ini.Y-40/scale) {
		t.Errorf("moved initials at (%.1f, %.1f), want (%.1f, %.1f)", got.X, got.Y, ini.X, ini.Y-40/scale)
	}
	// Resize Alice's signature by its handle: 30 px wider, 10 px taller,
	// its top-left corner staying.
	sig := j.field(0, "signature")
	hb := j.rectOf("#" + sig.ID + " .resize-handle")
	hx, hy := hb.at(0.5, 0.5)
	j.run("resize signature", chromedp.DragAndDropXY(hx, hy, hx+30, hy+10, 8))
	if got := j.field(0, "signature"); !nearPt(got.Width, sig.Width+30/scale) || !nearPt(got.Height, sig.Height+10/scale) ||
		!nearPt(got.X, sig.X) || !nearPt(got.Y+got.Height, sig.Y+sig.Height) {
		t.Errorf("resized signature %+v, from %+v by (30, 10) px at scale %.3f", got, sig, scale)
	}
	// Move Bob's signature 5 points left with the keyboard.
	bs := j.field(1, "signature")
	j.run("keyboard move", chromedp.Focus(chromedp.ID(bs.ID)),
		chromedp.SendKeys(chromedp.ID(bs.ID), kb.ArrowLeft+kb.ArrowLeft+kb.ArrowLeft+kb.ArrowLeft+kb.ArrowLeft))
	if got := j.field(1, "signature"); !nearPt(got.X, bs.X-5) || !nearPt(got.Y, bs.Y) {
		t.Errorf("keyboard-moved signature at (%.1f, %.1f), want (%.1f, %.1f)", got.X, got.Y, bs.X-5, bs.Y)
	}
	// Keyboard only: Enter on a palette item places the field (and
	// focuses it), Delete removes it again.
	j.run("keyboard place", chromedp.Focus(chromedp.ID("palette-1-text")), chromedp.KeyEvent(kb.Enter))
	if n := len(j.fields()); n != len(drops)+1 || jsEval[string](j, `document.activeElement.dataset.kind || ''`) != "text" {
		t.Fatalf("after Enter on the palette: %d fields, focus on %q", n, jsEval[string](j, `document.activeElement.id`))
	}
	j.run("keyboard delete", chromedp.KeyEvent(kb.Delete))
	if n := len(j.fields()); n != len(drops) {
		t.Fatalf("after Delete: %d fields, want %d", n, len(drops))
	}
	j.run("scroll up", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	j.shot("console-fields")
	placedFields := j.fields()

	// Review and send.
	j.run("review", chromedp.Click(chromedp.ID("step-3-next")), chromedp.WaitVisible(chromedp.ID("send-envelope")))
	j.shot("console-new-review")
	j.run("send", chromedp.Click(chromedp.ID("send-envelope")), chromedp.WaitVisible(chromedp.ID("view-detail")))
	j.poll("sent", `document.getElementById('detail-status').dataset.status === 'sent'`)
	envID := strings.TrimPrefix(jsEval[string](j, `location.hash`), "#/envelopes/")
	j.shot("console-sent")

	// The envelope holds the fields as placed, in points.
	type apiField struct {
		ID          string  `json:"id"`
		DocumentID  string  `json:"document_id"`
		RecipientID string  `json:"recipient_id"`
		Kind        string  `json:"kind"`
		Page        int     `json:"page"`
		X           float64 `json:"x"`
		Y           float64 `json:"y"`
		Width       float64 `json:"width"`
		Height      float64 `json:"height"`
	}
	type apiEnvelope struct {
		Status     string `json:"status"`
		Recipients []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"recipients"`
		Documents []struct {
			DocumentID string `json:"document_id"`
		} `json:"documents"`
		Fields []apiField `json:"fields"`
	}
	envelope := func() apiEnvelope {
		return jsEval[apiEnvelope](j, fmt.Sprintf(`fetch('/v1/envelopes/%s').then(r => r.json())`, envID))
	}
	env := envelope()
	if len(env.Fields) != len(placedFields) || len(env.Recipients) != 2 {
		t.Fatalf("envelope has %d fields and %d recipients, want %d and 2: %+v", len(env.Fields), len(env.Recipients), len(placedFields), env)
	}
	for _, p := range placedFields {
		found := false
		for _, f := range env.Fields {
			if f.Kind == p.Kind && f.RecipientID == env.Recipients[p.Recipient].ID && f.Page == p.Page &&
				math.Abs(f.X-p.X) < 0.02 && math.Abs(f.Y-p.Y) < 0.02 && math.Abs(f.Width-p.Width) < 0.02 && math.Abs(f.Height-p.Height) < 0.02 {
				found = true
			}
		}
		if !found {
			t.Errorf("placed %+v is not in the envelope's fields %+v", p, env.Fields)
		}
	}

	// Each recipient signs in the browser, in routing order.
	for i, s := range signers {
		signIn(j, mb, i, s[0], s[1])
	}

	// The sender sees the envelope completed.
	j.run("back to the console", chromedp.Navigate(r.base+"/#/envelopes/"+envID), chromedp.WaitVisible(chromedp.ID("view-detail")))
	deadline := time.Now().Add(90 * time.Second)
	for jsEval[string](j, `document.getElementById('detail-status').dataset.status || ''`) != "completed" {
		if time.Now().After(deadline) {
			j.shot("failed-completion")
			t.Fatal("the envelope did not complete")
		}
		time.Sleep(500 * time.Millisecond)
		j.run("refresh", chromedp.Click(chromedp.ID("detail-refresh")))
	}
	if err := r.srv.PublishCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The timeline drawn before the checkpoint shows envelope.completed
	// too: wait for the redrawn one, in which the last event is anchored.
	j.run("refresh", chromedp.Click(chromedp.ID("detail-refresh")),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-action="envelope.completed"][data-anchored="true"]`)))
	type entry struct {
		Action   string `json:"action"`
		Text     string `json:"text"`
		Anchored string `json:"anchored"`
	}
	timeline := jsEval[[]entry](j, `[...document.querySelectorAll('#timeline li')].map(li => ({action: li.dataset.action, text: li.textContent, anchored: li.dataset.anchored}))`)
	var actions []string
	signedBy := map[string]int{}
	for _, e := range timeline {
		actions = append(actions, e.Action)
		// A checkpoint published after the envelope completed covers
		// every audit event of it, and publishing anchors it (time-stamp).
		if e.Anchored != "true" || !strings.Contains(e.Text, "anchored") || strings.Contains(e.Text, "not yet anchored") || !strings.Contains(e.Text, "audit event #") {
			t.Errorf("timeline entry %q is not shown anchored", e.Text)
		}
		if e.Action == "signature.created" {
			for _, s := range signers {
				if strings.Contains(e.Text, "by "+s[0]) {
					signedBy[s[0]]++
				}
			}
		}
	}
	// Each audit event of the envelope, not only its transitions: both
	// recipients' authentications and signatures are in the timeline.
	got := strings.Join(actions, " ")
	if !strings.HasPrefix(got, "envelope.created") || !strings.Contains(got, "envelope.sent") || !strings.Contains(got, "envelope.completed") ||
		strings.Count(got, "recipient.authenticated") < len(signers) || strings.Count(got, "signature.created") != len(signers) {
		t.Errorf("timeline %q, want envelope.created, envelope.sent, each recipient's authentication and signature, envelope.completed", got)
	}
	for _, s := range signers {
		if signedBy[s[0]] != 1 {
			t.Errorf("the timeline shows %d signatures by %s: %q", signedBy[s[0]], s[0], got)
		}
	}
	j.shot("console-timeline")

	// The signed PDF: every signature valid, and the filled fields shown.
	var docID string
	if e := envelope(); e.Status != "completed" || len(e.Documents) != 1 {
		t.Fatalf("envelope %+v", e)
	} else {
		docID = e.Documents[0].DocumentID
	}
	signed := j.download("download-" + docID)
	checkSignedPDF(t, r, signed, len(placedFields))

	// The evidence bundle, as `signet verify` checks it.
	// Until a checkpoint covers the envelope's last events the bundle is
	// refused (503 checkpoint-pending) and the page says to try again
	// shortly; then a checkpoint is published, as the log's timer does.
	var bundle []byte
	for attempt := 1; bundle == nil; attempt++ {
		if attempt > 5 {
			t.Fatal("no evidence bundle after 5 checkpoints")
		}
		bundle = j.tryDownload("download-evidence", `document.getElementById('detail-error').textContent.includes('being anchored')`)
		if bundle != nil {
			break
		}
		if errs := webtest.ConsoleErrors(j.ctx); len(errs) != 1 || !strings.Contains(errs[0], "503") {
			t.Fatalf("a pending checkpoint reported %q", errs)
		}
		j.shot("console-evidence-pending")
		if err := r.srv.PublishCheckpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := evidence.Verify(bytes.NewReader(bundle), int64(len(bundle)), evidence.VerifyOptions{Roots: r.roots(), Now: time.Now})
	if err != nil {
		t.Fatalf("verify the bundle: %v", err)
	}
	if !rep.Valid() || rep.EnvelopeID != envID {
		t.Fatalf("bundle of %s: %s %s %+v", rep.EnvelopeID, rep.Indication, rep.SubIndication, rep.Findings)
	}
	signetVerify(t, bundle, filepath.Join(r.dir, "pki", "root.pem"))
	j.shot("console-evidence")

	// The session ends on the server (as when it expires): the next
	// request brings the login back, with a word why; logging in again
	// returns to the same envelope.
	if _, err := r.srv.IdentityStore().DeleteSessions(t.Context(), tenant, "u-sam"); err != nil {
		t.Fatal(err)
	}
	j.run("session ended", chromedp.Click(chromedp.ID("detail-refresh")), chromedp.WaitVisible(chromedp.ID("login-form")))
	if msg := jsEval[string](j, `document.getElementById('flash').textContent`); !strings.Contains(msg, "session has ended") {
		t.Errorf("after the session ended: %q", msg)
	}
	if errs := webtest.ConsoleErrors(j.ctx); len(errs) == 0 || !strings.Contains(errs[0], "401") {
		t.Errorf("the ended session's refusals: %q", errs)
	}
	j.shot("console-session-ended")
	// The next time step's code: the previous one confirmed the
	// enrolment, and a code is accepted once.
	code, err = key.CodeAt(time.Now().Add(30 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	j.run("log in again",
		chromedp.SendKeys(chromedp.ID("login-password"), pw),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("mfa-code")))
	j.shot("console-login-code")
	j.run("second factor",
		chromedp.SendKeys(chromedp.ID("mfa-code"), code),
		chromedp.Click(chromedp.ID("mfa-submit")),
		chromedp.WaitVisible(chromedp.ID("view-detail")))
	j.poll("the envelope again", `document.getElementById('detail-status').dataset.status === 'completed'`)

	// 360 CSS pixels wide (a small phone): every view fits, nothing
	// scrolls sideways.
	j.run("narrow", chromedp.EmulateViewport(360, 740))
	for _, v := range []struct{ name, hash, ready string }{
		{"console-360-detail", "#/envelopes/" + envID, "#timeline li"},
		{"console-360-list", "#/envelopes", "#envelope-rows tr"},
		{"console-360-new", "#/new", "#upload-drop"},
	} {
		j.run(v.name, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", v.hash)), chromedp.WaitVisible(chromedp.CSS(v.ready)))
		if w := jsEval[int](j, `document.documentElement.scrollWidth`); w > 360 {
			wide := jsEval[[]string](j, `[...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > 361 &&
				el.getClientRects().length).slice(0, 8).map(el => el.tagName + '#' + el.id + '.' + el.className)`)
			t.Errorf("%s is %d px wide at 360 px: %q", v.name, w, wide)
		}
		j.shot(v.name)
	}
	j.run("wide", chromedp.EmulateViewport(webtest.Width, webtest.Height))

	// Log out: the console is closed again.
	j.run("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	if got := jsEval[int](j, `fetch('/v1/auth/session').then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("session after logout: %d", got)
	}
	// The probe's 401 is reported by the browser as a failed load.
	webtest.ConsoleErrors(j.ctx)
	keepScreenshots(t, j.keep)
}

// signIn has recipient i sign on the signing page: open the link, get a
// code by e-mail, fill their fields (the first recipient draws the
// signature, the others type it) and sign.
func signIn(j *journey, mb *apiclient.Mailbox, i int, name, addr string) {
	t := j.t
	t.Helper()
	link, err := mb.Link(j.ctx, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mb.Count(addr)
	if err != nil {
		t.Fatal(err)
	}
	// A link opens a fresh page, as from the e-mail (the tab may be on
	// /sign already, where a new fragment alone would load nothing).
	j.run(addr+" opens the link", chromedp.Navigate("about:blank"), chromedp.Navigate(j.r.base+"/sign#"+link),
		chromedp.WaitVisible(chromedp.ID("send-code")))
	if i == 0 {
		j.shot("sign-verify")
	}
	j.run(addr+" asks for a code", chromedp.Click(chromedp.ID("send-code")), chromedp.WaitVisible(chromedp.ID("code")))
	code, err := mb.Code(j.ctx, addr, n+1)
	if err != nil {
		t.Fatal(err)
	}
	j.run(addr+" enters the code", chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("verify-code")),
		chromedp.WaitVisible(chromedp.ID("review")), chromedp.WaitVisible(chromedp.CSS("#documents canvas")))
	j.poll(addr+"'s fields drawn", `(() => { const bs = [...document.querySelectorAll('#field-list button[id^="field-item-"]')];
		return bs.length > 0 && bs.every(b => document.getElementById('field-box-' + b.id.slice('field-item-'.length))); })()`)
	type item struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	items := jsEval[[]item](j, `[...document.querySelectorAll('#field-list button[id^="field-item-"]')].map(b => {
		const id = b.id.slice('field-item-'.length); const box = document.getElementById('field-box-' + id);
		return {id, kind: ['signature', 'initials', 'date', 'text'].find(k => box.classList.contains('kind-' + k))}; })`)
	if len(items) != 2 {
		t.Fatalf("%s sees %d fields, want their own 2: %+v", addr, len(items), items)
	}
	for _, f := range items {
		if f.Kind == "date" {
			continue // filled by the server when they sign
		}
		j.run(addr+" opens "+f.Kind, chromedp.Click(chromedp.ID("field-item-"+f.ID)), chromedp.WaitVisible(chromedp.ID("field-dialog")))
		switch {
		case f.Kind == "signature" && i == 0:
			j.run("draw mode", chromedp.Click(chromedp.ID("mode-draw")), chromedp.WaitVisible(chromedp.ID("draw-pad")))
			pad := j.rectOf("#draw-pad")
			for _, s := range signatureStrokes() {
				j.run("draw a stroke", stroke(pad, s))
			}
		default:
			text := name
			if f.Kind == "initials" {
				text = "BP"
			}
			j.run("type mode", chromedp.Click(chromedp.ID("mode-type")), chromedp.SendKeys(chromedp.ID("type-input"), text))
		}
		j.run(addr+" applies "+f.Kind, chromedp.Click(chromedp.ID("field-apply")), chromedp.WaitNotVisible(chromedp.ID("field-dialog")))
	}
	if i == 0 {
		j.shot("sign-review")
	}
	j.run(addr+" goes to sign", chromedp.Click(chromedp.ID("to-sign")), chromedp.WaitVisible(chromedp.ID("consent-check")),
		chromedp.Click(chromedp.ID("consent-check")), chromedp.WaitEnabled(chromedp.ID("sign-button")))
	if i == 0 {
		j.shot("sign-consent")
	}
	j.run(addr+" signs", chromedp.Click(chromedp.ID("sign-button")), chromedp.WaitVisible(chromedp.ID("done")))
	j.shot(fmt.Sprintf("sign-done-%d", i+1))
}

// signatureStrokes is a hand-drawn signature: a flourish and an
// underline, as fractions of the pad from its top-left.
func signatureStrokes() [][][2]float64 {
	var flourish, underline [][2]float64
	for i := 0; i <= 48; i++ {
		u := float64(i) / 48
		flourish = append(flourish, [2]float64{0.08 + 0.8*u + 0.05*math.Sin(u*6*math.Pi),
			0.5 - 0.3*math.Sin(u*5*math.Pi)*(1-0.6*u) + 0.1*math.Cos(u*6*math.Pi)})
	}
	for i := 0; i <= 12; i++ {
		u := float64(i) / 12
		underline = append(underline, [2]float64{0.15 + 0.7*u, 0.82 - 0.05*u})
	}
	return [][][2]float64{flourish, underline}
}

// stroke draws one stroke through points (fractions of box) with the
// mouse: press, moves with the button held, release.
func stroke(box rect, points [][2]float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for i, p := range points {
			x, y := box.at(p[0], p[1])
			ev := input.DispatchMouseEventParams{Type: chromedp.MouseMoved, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1}
			switch i {
			case 0:
				ev.Type, ev.ClickCount = chromedp.MousePressed, 1
			case len(points) - 1:
				ev.Type, ev.ClickCount, ev.Buttons = chromedp.MouseReleased, 1, 0
			}
			if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkSignedPDF verifies the final PDF with pades.Verify and pdfsig and
// checks that it shows the filled fields: one widget each.
func checkSignedPDF(t *testing.T, r *running, b []byte, fields int) {
	t.Helper()
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: r.roots()})
	if err != nil {
		t.Fatal(err)
	}
	approvals := 0
	for _, s := range rep.Signatures {
		if s.Kind == "approval" {
			approvals++
		}
	}
	if !rep.Valid || approvals < 2 {
		js, _ := json.MarshalIndent(rep, "", "  ")
		t.Fatalf("signed PDF (%d approval signatures):\n%s", approvals, js)
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := pdftest.Tool(t, "pdfsig", "-nocert", path)
	if strings.Count(out, "Signature Validation: Signature is Valid.") < 2 || strings.Contains(out, "Invalid") {
		t.Errorf("pdfsig:\n%s", out)
	}
	widgets := strings.Count(pdftest.Tool(t, "qpdf", "--qdf", "--object-streams=disable", path, "-"), "/Subtype /Widget")
	// Each filled field is a widget, besides those of the signatures.
	if widgets < fields {
		t.Errorf("the signed PDF has %d widgets, want at least the %d filled fields", widgets, fields)
	}
}

// keepScreenshots copies the README's screenshots into docs/screenshots
// when SIGNET_UPDATE_SCREENSHOTS=1.
func keepScreenshots(t *testing.T, shots map[string]string) {
	t.Helper()
	if os.Getenv(updateScreenshots) != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"console-login", "console-fields", "sign-review", "sign-done-1", "console-timeline"} {
		b, err := os.ReadFile(shots[name])
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWebConsoleManage: the console's lockout message, the envelopes
// list and its status filter, and an envelope's management: a reminder
// too soon is refused with the reason, a recipient's link is re-issued
// (a new e-mail), and voiding asks for a reason in a dialog and shows the
// voided envelope with the reason in its timeline; the timeline, in pages
// of 2, loads more until it shows every audit event of the envelope.
func TestWebConsoleManage(t *testing.T) {
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.SMTP = server.SMTPConfig{Addr: box.Addr(), From: "signet@web.invalid"}
	})
	const email, pw = "sam@sender.example", "a sender's long passphrase 2026"
	tenant, key := webSender(t, r, email, pw)
	mb := &apiclient.Mailbox{Inbox: box.Sent()}
	j := startJourney(t, r)

	// Repeated wrong passwords for an address lock it: the page says for
	// how long.
	j.run("open the console", chromedp.Navigate(r.base+"/"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("login-email"), "mallory@sender.example"))
	locked := ""
	for attempt := 0; attempt < 8 && !strings.Contains(locked, "locked"); attempt++ {
		j.run("wrong password", chromedp.SendKeys(chromedp.ID("login-password"), "guess number "+fmt.Sprint(attempt)),
			chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.CSS("#login-error [role=alert]")))
		locked = jsEval[string](j, `document.getElementById('login-error').textContent`)
		j.run("clear", chromedp.Evaluate[chromedp.Void](`document.getElementById('login-error').replaceChildren()`))
	}
	if !strings.Contains(locked, "locked") || !strings.Contains(locked, "Try again in 15 minutes") {
		t.Fatalf("after repeated wrong passwords: %q", locked)
	}
	for _, e := range webtest.ConsoleErrors(j.ctx) {
		if !strings.Contains(e, "/v1/auth/login") {
			t.Errorf("the page reported %s", e)
		}
	}
	j.run("other address", chromedp.Evaluate[chromedp.Void](`for (const id of ['login-tenant', 'login-email', 'login-password']) document.getElementById(id).value = ''`))
	j.login(tenant, email, pw, key, time.Now())
	j.run("list", chromedp.WaitVisible(chromedp.ID("view-envelopes")))

	// An envelope sent to one signer, made through the API in the page's
	// own session.
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "Supplier contract"}); err != nil {
		t.Fatal(err)
	}
	envID := jsEval[string](j, fmt.Sprintf(`(async () => {
		const csrf = {'X-CSRF-Token': sessionStorage.getItem('signet.csrf')};
		const bytes = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
		const doc = await (await fetch('/v1/documents?name=contract.pdf', {method: 'POST', headers: {...csrf, 'Content-Type': 'application/pdf'}, body: bytes})).json();
		const env = await (await fetch('/v1/envelopes', {method: 'POST', headers: {...csrf, 'Content-Type': 'application/json'}, body: JSON.stringify({
			subject: 'Supplier contract', documents: [doc.id], recipients: [{role: 'signer', name: 'Carol Supplier', email: 'carol@supplier.example', routing_order: 1}]})})).json();
		await fetch('/v1/envelopes/' + env.id + '/send', {method: 'POST', headers: csrf});
		return env.id; })()`, base64.StdEncoding.EncodeToString(sample.Bytes())))
	const carol = "carol@supplier.example"
	if _, err := mb.Link(j.ctx, carol, 1); err != nil {
		t.Fatal(err)
	}

	// The list shows it as sent, 0 of 1 signed; filtering on completed
	// hides it.
	j.run("refresh the list", chromedp.Click(chromedp.ID("refresh-list")), chromedp.WaitVisible(chromedp.ID("open-"+envID)))
	if row := jsEval[string](j, fmt.Sprintf(`document.querySelector('tr[data-id=%q]').textContent`, envID)); !strings.Contains(row, "Sent") || !strings.Contains(row, "0 of 1 signed") {
		t.Errorf("list row %q", row)
	}
	j.shot("console-envelopes")
	j.run("filter", chromedp.SetValue(chromedp.ID("envelope-filter"), "completed"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('envelope-filter').dispatchEvent(new Event('change'))`),
		chromedp.WaitNotPresent(chromedp.ID("open-"+envID)), chromedp.WaitVisible(chromedp.ID("envelope-empty")))

	// Detail: a reminder right after sending is refused with the reason.
	j.run("open", chromedp.Navigate(r.base+"/#/envelopes/"+envID), chromedp.WaitVisible(chromedp.ID("remind")))
	j.run("remind", chromedp.Click(chromedp.ID("remind")), chromedp.WaitVisible(chromedp.CSS("#detail-error [role=alert]")))
	if msg := jsEval[string](j, `document.getElementById('detail-error').textContent`); !strings.Contains(msg, "less than") {
		t.Errorf("reminder too soon: %q", msg)
	}
	if errs := webtest.ConsoleErrors(j.ctx); len(errs) != 1 || !strings.Contains(errs[0], "409") {
		t.Errorf("reminder too soon reported %q", errs)
	}

	// Re-issue the signer's link: a new e-mail.
	rid := jsEval[string](j, `document.querySelector('#recipient-rows tr').id.slice('recipient-'.length)`)
	n, _ := mb.Count(carol)
	j.run("reissue", chromedp.Click(chromedp.ID("reissue-"+rid)))
	j.poll("reissued", `document.getElementById('detail-status-message').textContent.includes('new link')`)
	if _, err := mb.Link(j.ctx, carol, n+1); err != nil {
		t.Errorf("no new link after the re-issue: %v", err)
	}

	// Void: the dialog wants a reason, then the envelope is voided.
	j.run("void dialog", chromedp.Click(chromedp.ID("void-open")), chromedp.WaitVisible(chromedp.ID("void-reason")),
		chromedp.Click(chromedp.ID("void-confirm")), chromedp.WaitVisible(chromedp.CSS("#void-error [role=alert]")))
	j.shot("console-void")
	j.run("void", chromedp.SendKeys(chromedp.ID("void-reason"), "the supplier withdrew"), chromedp.Click(chromedp.ID("void-confirm")),
		chromedp.WaitNotVisible(chromedp.ID("void-dialog")))
	j.poll("voided", `document.getElementById('detail-status').dataset.status === 'voided' && !!document.querySelector('#timeline li[data-action="envelope.voided"]')`)
	if entry := jsEval[string](j, `document.querySelector('#timeline li[data-action="envelope.voided"]').textContent`); !strings.Contains(entry, "the supplier withdrew") || !strings.Contains(entry, "by you") {
		t.Errorf("void in the timeline: %q", entry)
	}
	if jsEval[bool](j, `!document.getElementById('remind').classList.contains('hidden') || !document.getElementById('void-open').classList.contains('hidden')`) {
		t.Error("a voided envelope still offers remind or void")
	}
	j.shot("console-voided")

	// The timeline in pages of 2: "Load more" until the last page gives
	// the envelope's audit events as the API lists them, in order.
	want := jsEval[[]string](j, fmt.Sprintf(`(async () => (await (await fetch('/v1/envelopes/%s/events?limit=200')).json()).events.map(e => e.type + '#' + e.index))()`, envID))
	if len(want) < 3 {
		t.Fatalf("the envelope's events %q", want)
	}
	j.run("pages of 2", chromedp.Evaluate[chromedp.Void](`document.getElementById('timeline').dataset.pageSize = '2'`),
		chromedp.Click(chromedp.ID("detail-refresh")))
	j.poll("first page", `document.querySelectorAll('#timeline li').length === 2 && !document.getElementById('timeline-more').classList.contains('hidden')`)
	shown := func() []string {
		return jsEval[[]string](j, `[...document.querySelectorAll('#timeline li')].map(li => li.dataset.action + '#' + li.id.slice('timeline-'.length))`)
	}
	for pages := 1; jsEval[bool](j, `!document.getElementById('timeline-more').classList.contains('hidden')`); pages++ {
		if pages > len(want) {
			t.Fatalf("Load more does not end: %q", shown())
		}
		j.run("load more", chromedp.Click(chromedp.ID("timeline-more")))
		j.poll("next page", fmt.Sprintf(`document.querySelectorAll('#timeline li').length > %d`, 2*pages))
	}
	if got := shown(); !slices.Equal(got, want) {
		t.Errorf("the timeline in pages of 2 shows %q, want %q", got, want)
	}
	if entry := jsEval[string](j, `document.querySelector('#timeline li[data-action="envelope.voided"]').textContent`); !strings.Contains(entry, "the supplier withdrew") {
		t.Errorf("void in the paged timeline: %q", entry)
	}
}

// signetVerify runs the signet command itself, built from this module,
// as `signet verify --trust ROOT BUNDLE.zip` on the downloaded bundle, and
// fails the test unless it accepts it (exit status 0, indication VALID).
func signetVerify(t *testing.T, bundle []byte, root string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "signet")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/signet-pki/signet/cmd/signet").CombinedOutput(); err != nil {
		t.Fatalf("go build signet: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "evidence.zip")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", "--trust", root, path).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "\nVALID") {
		t.Fatalf("signet verify of the downloaded bundle: %v\n%s", err, out)
	}
	t.Logf("signet verify: %s", strings.TrimSpace(string(out)))
}
