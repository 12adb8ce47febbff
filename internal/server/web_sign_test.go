package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/pdfsigtest"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/web/webtest"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// signEnvelope is an envelope made for the signing page's tests: its
// recipients and placed fields as the API returned them.
type signEnvelope struct {
	ID        string `json:"id"`
	Documents []struct {
		DocumentID string `json:"document_id"`
	} `json:"documents"`
	Recipients []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"recipients"`
	Fields []struct {
		ID          string `json:"id"`
		RecipientID string `json:"recipient_id"`
		Kind        string `json:"kind"`
	} `json:"fields"`
}

// recipientID returns the id of the recipient with e-mail address email.
func (e signEnvelope) recipientID(t *testing.T, email string) string {
	t.Helper()
	for _, r := range e.Recipients {
		if r.Email == email {
			return r.ID
		}
	}
	t.Fatalf("no recipient %s in %s", email, e.ID)
	return ""
}

// fieldsOf returns the ids of the fields of the recipient with address
// email, by kind.
func (e signEnvelope) fieldsOf(t *testing.T, email string) map[string]string {
	t.Helper()
	id := e.recipientID(t, email)
	out := map[string]string{}
	for _, f := range e.Fields {
		if f.RecipientID == id {
			out[f.Kind] = f.ID
		}
	}
	return out
}

// signSpec describes an envelope to create for the signing page.
type signSpec struct {
	title, message string
	// signers are (name, e-mail) pairs; orders their routing orders
	// (all 1 when nil).
	signers [][2]string
	orders  []int
	// fields are the placed fields ("recipient" is an index into
	// signers; "document" is filled in).
	fields    []map[string]any
	expiresAt *time.Time
	// accessCode, if set, is every signer's access code (auth
	// access_code).
	accessCode string
	// rotate turns the document's page this many degrees clockwise
	// (/Rotate, with qpdf).
	rotate int
}

// createSignEnvelope uploads a one-page document and creates and sends
// an envelope as spec says.
func (p party) createSignEnvelope(t *testing.T, ctx context.Context, spec signSpec) signEnvelope {
	t.Helper()
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: spec.title, Lines: []string{"Signed on the web."}}); err != nil {
		t.Fatal(err)
	}
	data := sample.Bytes()
	if spec.rotate != 0 {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		pdftest.Tool(t, "qpdf", in, "--rotate=+"+strconv.Itoa(spec.rotate)+":1", out)
		var err error
		if data, err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := p.sender.Upload(ctx, spec.title+".pdf", data)
	if err != nil {
		t.Fatal(err)
	}
	var recipients []map[string]any
	for i, s := range spec.signers {
		order := 1
		if spec.orders != nil {
			order = spec.orders[i]
		}
		rc := map[string]any{"role": "signer", "name": s[0], "email": s[1], "routing_order": order}
		if spec.accessCode != "" {
			rc["auth"], rc["access_code"] = "access_code", spec.accessCode
		}
		recipients = append(recipients, rc)
	}
	body := map[string]any{"subject": spec.title, "message": spec.message, "documents": []string{doc.ID}, "recipients": recipients}
	if len(spec.fields) > 0 {
		var fs []map[string]any
		for _, f := range spec.fields {
			g := map[string]any{"document": doc.ID}
			for k, v := range f {
				g[k] = v
			}
			fs = append(fs, g)
		}
		body["fields"] = fs
	}
	if spec.expiresAt != nil {
		body["expires_at"] = spec.expiresAt.UTC().Format(time.RFC3339)
	}
	var e signEnvelope
	if _, err := p.sender.Do(ctx, "POST", "/v1/envelopes", body, "", &e); err != nil {
		t.Fatalf("create envelope: %v", err)
	}
	if _, err := p.sender.Send(ctx, e.ID); err != nil {
		t.Fatalf("send: %v", err)
	}
	return e
}

// signPage drives the signing page in a browser.
type signPage struct {
	t   *testing.T
	ctx context.Context
	r   *running
	mb  *apiclient.Mailbox
	// email is the recipient's address, for the codes.
	email string

	mu        sync.Mutex
	responses []*network.EventResponseReceived
}

// openSign opens /sign#fragment in a fresh browser at a viewport of
// width × height CSS pixels, recording the API's answers to the page.
func (r *running) openSign(t *testing.T, email, fragment string, width, height int64) *signPage {
	t.Helper()
	ctx := webtest.Start(t)
	p := &signPage{t: t, ctx: ctx, r: r, mb: &apiclient.Mailbox{Inbox: r.srv.Outbox()}, email: email}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(e.Response.URL, "/v1/") {
			p.mu.Lock()
			p.responses = append(p.responses, e)
			p.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	url := r.base + "/sign"
	if fragment != "" {
		url += "#" + fragment
	}
	p.do(chromedp.Navigate(url))
	return p
}

// do runs steps, each within a minute.
func (p *signPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// signEval evaluates a JavaScript expression in the page.
func signEval[T any](p *signPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript condition holds.
func (p *signPage) waitFor(cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(80*time.Second))); err != nil {
		p.t.Fatalf("waiting for %s: %v (page says: %q)", cond, err, p.text("main"))
	}
}

// text returns the text of the element with id.
func (p *signPage) text(id string) string {
	p.t.Helper()
	return signEval[string](p, fmt.Sprintf(`(document.getElementById(%q) || {}).innerText || ''`, id))
}

// visible reports whether the element with id is shown.
func (p *signPage) visible(id string) bool {
	return signEval[bool](p, fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && e.offsetParent !== null; })()`, id))
}

// click clicks the element with id once it is visible.
func (p *signPage) click(id string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID(id)), chromedp.Click(chromedp.ID(id)))
}

// typeInto types s into the input with id.
func (p *signPage) typeInto(id, s string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), s))
}

// noticeKind waits for the ending page and returns its kind.
func (p *signPage) noticeKind() string {
	p.t.Helper()
	p.waitFor(`!document.getElementById('notice').classList.contains('hidden')`)
	return signEval[string](p, `document.getElementById('notice').dataset.kind`)
}

// signRefusedLoad matches the browser's console line for an API answer with
// an error status: its status and path.
var signRefusedLoad = regexp.MustCompile(`^error \(network\): Failed to load resource: the server responded with a status of (\d+) .*\[https://[^/]+(/v1/recipient/[a-z/]+):\d+\]$`)

// checkConsole fails the test on any script error or CSP violation the
// page reported, and on any refused API call other than the expected
// ones ("401 /v1/recipient/code": the answers the page shows as a
// problem, which the browser logs as failed loads).
func (p *signPage) checkConsole(expected ...string) {
	p.t.Helper()
	for _, e := range webtest.ConsoleErrors(p.ctx) {
		if m := signRefusedLoad.FindStringSubmatch(e); m != nil && slices.Contains(expected, m[1]+" "+m[2]) {
			continue
		}
		p.t.Errorf("console error or CSP violation: %s", e)
	}
}

// verify asks for a code, reads it from the mailbox and enters it, after
// one wrong code when wrongFirst; it waits for the review step.
func (p *signPage) verify(wrongFirst bool) {
	p.t.Helper()
	n, err := p.mb.Count(p.email)
	if err != nil {
		p.t.Fatal(err)
	}
	p.click("send-code")
	p.do(chromedp.WaitVisible(chromedp.ID("code")))
	code, err := p.mb.Code(context.Background(), p.email, n+1)
	if err != nil {
		p.t.Fatal(err)
	}
	if !strings.Contains(p.text("code-sent-to"), "by e-mail") {
		p.t.Errorf("the code form says %q", p.text("code-sent-to"))
	}
	if wrongFirst {
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		p.typeInto("code", wrong)
		p.click("verify-code")
		p.waitFor(`document.getElementById('verify-error').innerText.includes('wrong')`)
		if got := signEval[string](p, `document.getElementById('code').getAttribute('aria-invalid')`); got != "true" {
			p.t.Errorf("a wrong code leaves aria-invalid=%q", got)
		}
		p.do(chromedp.Clear(chromedp.ID("code")))
	}
	p.typeInto("code", code)
	p.click("verify-code")
	p.do(chromedp.WaitVisible(chromedp.ID("review-heading")))
	// The documents are drawn and the page is idle.
	p.waitFor(`document.querySelectorAll('#documents .pdf-page canvas').length > 0 && document.getElementById('status').innerText === ''`)
}

// stroke draws one stroke across the drawing area with a pointer of
// kind "mouse", "pen" or "touch", through the browser's input events.
func (p *signPage) stroke(kind string, from, to [2]float64) {
	p.t.Helper()
	rect := signEval[[]float64](p, `(() => { const r = document.getElementById('draw-pad').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	at := func(f [2]float64) (float64, float64) { return rect[0] + f[0]*rect[2], rect[1] + f[1]*rect[3] }
	const steps = 8
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for i := 0; i <= steps; i++ {
			x, y := at([2]float64{from[0] + (to[0]-from[0])*float64(i)/steps, from[1] + (to[1]-from[1])*float64(i)/steps + 0.1*float64(i%2)})
			if kind == "touch" {
				typ := input.DispatchTouchEventTypeTouchMove
				if i == 0 {
					typ = input.DispatchTouchEventTypeTouchStart
				}
				if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: []*input.TouchPoint{{X: x, Y: y}}}); err != nil {
					return err
				}
				continue
			}
			pt := input.DispatchMouseEventPointerTypeMouse
			if kind == "pen" {
				pt = input.DispatchMouseEventPointerTypePen
			}
			params := input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1, PointerType: pt}
			if i == 0 {
				params.Type, params.ClickCount = input.DispatchMouseEventTypeMousePressed, 1
			}
			if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, params); err != nil {
				return err
			}
		}
		if kind == "touch" {
			_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
			return err
		}
		x, y := at(to)
		pt := input.DispatchMouseEventPointerTypeMouse
		if kind == "pen" {
			pt = input.DispatchMouseEventPointerTypePen
		}
		_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseReleased, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: 1, PointerType: pt})
		return err
	}))
}

// bodies returns the bodies of the API's answers to the page so far,
// by URL.
func (p *signPage) bodies() map[string][]byte {
	p.t.Helper()
	p.mu.Lock()
	rs := slices.Clone(p.responses)
	p.mu.Unlock()
	out := map[string][]byte{}
	for _, e := range rs {
		res, err := chromedp.Call(p.ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: e.RequestID})
		if err != nil {
			p.t.Fatalf("body of %s: %v", e.Response.URL, err)
		}
		out[e.Response.URL] = append(out[e.Response.URL], res.Body...)
	}
	return out
}

// signFieldSpecs places, for each signer index, a signature, initials, a
// date and a text field on page 1.
func signFieldSpecs(signers int) []map[string]any {
	var fs []map[string]any
	for i := range signers {
		y := 600.0 - float64(i)*160
		fs = append(fs,
			map[string]any{"recipient": i, "kind": "signature", "page": 1, "x": 72, "y": y, "width": 200, "height": 50, "required": true, "label": "Signature"},
			map[string]any{"recipient": i, "kind": "initials", "page": 1, "x": 300, "y": y, "width": 60, "height": 30, "required": true},
			map[string]any{"recipient": i, "kind": "date", "page": 1, "x": 400, "y": y, "width": 100, "height": 20, "required": true},
			map[string]any{"recipient": i, "kind": "text", "page": 1, "x": 72, "y": y - 50, "width": 220, "height": 22, "required": true, "label": "Apartment"},
		)
	}
	return fs
}

// TestWebSignCeremony: two signers of one routing order. The second one's
// page (at 360 px) shows only their own name and fields: none of the
// first signer's name, e-mail or fields in the page or in any answer the
// page received. The first one opens the link (the token leaves the
// address bar), enters a wrong code and then the e-mailed one, sees the
// sender's message and the document with their four fields, draws the
// signature with a mouse, a pen and a finger (and undoes one stroke),
// types the initials, fills the text, consents and signs; the signed
// document downloaded from the done page carries their valid signature.
// The link then shows "already finished". No page logs a script error
// or a CSP violation.
func TestWebSignCeremony(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	p := r.party(ctx, "Web Signing Corp")
	alice := [2]string{"Alice Webster", "alice.webster@websign.example"}
	bob := [2]string{"Bob Privatus", "bob.privatus@websign.example"}
	e := p.createSignEnvelope(t, ctx, signSpec{
		title: "Lease agreement", message: "Hello,\nplease sign the lease by Friday.",
		signers: [][2]string{alice, bob}, fields: signFieldSpecs(2),
	})
	aliceFields, bobFields := e.fieldsOf(t, alice[1]), e.fieldsOf(t, bob[1])
	if len(aliceFields) != 4 || len(bobFields) != 4 {
		t.Fatalf("fields: %v %v", aliceFields, bobFields)
	}
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	aliceLink, err := mb.Link(ctx, alice[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	bobLink, err := mb.Link(ctx, bob[1], 1)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("other recipient sees nothing of the first", func(t *testing.T) {
		b := r.openSign(t, bob[1], bobLink, 360, 740)
		b.verify(false)
		page := signEval[string](b, `document.documentElement.outerHTML + document.body.innerText`)
		bodies := b.bodies()
		var all bytes.Buffer
		for u, body := range bodies {
			if !strings.Contains(u, "/v1/recipient/") {
				t.Errorf("the page called %s", u)
			}
			all.Write(body)
		}
		// The answers are the ones of Bob's view: his own address is in them.
		if !bytes.Contains(all.Bytes(), []byte(bob[1])) {
			t.Fatalf("no answer names the recipient himself: %d answers", len(bodies))
		}
		forbidden := []string{alice[0], alice[1], e.recipientID(t, alice[1])}
		for _, id := range aliceFields {
			forbidden = append(forbidden, id)
		}
		for _, s := range forbidden {
			if strings.Contains(page, s) {
				t.Errorf("the page shows %q", s)
			}
			if bytes.Contains(all.Bytes(), []byte(s)) {
				t.Errorf("an answer to the page holds %q", s)
			}
		}
		for kind, id := range bobFields {
			if !b.visible("field-box-" + id) {
				t.Errorf("his %s field is not shown", kind)
			}
		}
		if n := signEval[int](b, `document.querySelectorAll('#documents .field-box').length`); n != len(bobFields) {
			t.Errorf("%d field boxes, want %d", n, len(bobFields))
		}
		webtest.Screenshot(t, b.ctx, "sign-review-360px")
		webtest.Audit(t, b.ctx, "sign-review-360px")
		if w := signEval[int](b, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("the page is %d px wide at a 360 px viewport", w)
		}
		b.checkConsole()
	})

	a := r.openSign(t, alice[1], aliceLink, 1100, 900)
	if loc := signEval[string](a, `location.href`); strings.Contains(loc, aliceLink) || strings.Contains(loc, "#") {
		t.Errorf("the token stays in the address bar: %s", loc)
	}
	if hist := signEval[string](a, `history.state === null ? '' : JSON.stringify(history.state)`); strings.Contains(hist, aliceLink) {
		t.Errorf("the token is in the history state")
	}
	a.do(chromedp.WaitVisible(chromedp.ID("send-code")))
	if cur := signEval[string](a, `document.querySelector('#steps [aria-current="step"]').id`); cur != "step-verify" {
		t.Errorf("current step %q", cur)
	}
	webtest.Screenshot(t, a.ctx, "sign-1-verify")
	webtest.Audit(t, a.ctx, "sign-1-verify")
	a.verify(true)

	if got := a.text("envelope-subject"); got != "Lease agreement" {
		t.Errorf("subject %q", got)
	}
	if got := a.text("envelope-message"); !strings.Contains(got, "please sign the lease by Friday") {
		t.Errorf("message %q", got)
	}
	if focused := signEval[string](a, `document.activeElement.id`); focused != "review-heading" {
		t.Errorf("focus on %q after verifying", focused)
	}
	for kind, id := range aliceFields {
		if !a.visible("field-box-"+id) || !a.visible("field-item-"+id) {
			t.Errorf("her %s field is not shown", kind)
		}
	}
	for _, id := range bobFields {
		if signEval[bool](a, fmt.Sprintf(`!!document.getElementById('field-box-%s')`, id)) {
			t.Errorf("the other signer's field %s is shown", id)
		}
	}
	if got := a.text("field-box-" + aliceFields["date"]); !strings.Contains(got, "filled on signing") {
		t.Errorf("date box says %q", got)
	}
	webtest.Screenshot(t, a.ctx, "sign-2-review")
	webtest.Audit(t, a.ctx, "sign-2-review")

	// "Next field" goes to the first required field left.
	a.click("next-field")
	if focused := signEval[string](a, `document.activeElement.id`); focused != "field-box-"+aliceFields["signature"] {
		t.Errorf("next field focused %q", focused)
	}

	// The signature, drawn: a mouse, a pen and a finger; one undone.
	a.click("field-box-" + aliceFields["signature"])
	a.do(chromedp.WaitVisible(chromedp.ID("draw-pad")))
	a.stroke("mouse", [2]float64{0.1, 0.6}, [2]float64{0.4, 0.3})
	a.stroke("pen", [2]float64{0.4, 0.3}, [2]float64{0.6, 0.7})
	a.stroke("touch", [2]float64{0.6, 0.7}, [2]float64{0.9, 0.2})
	a.stroke("mouse", [2]float64{0.2, 0.9}, [2]float64{0.8, 0.9})
	a.click("draw-undo")
	a.click("field-apply")
	a.waitFor(fmt.Sprintf(`document.getElementById('field-box-%s').dataset.filled === 'true'`, aliceFields["signature"]))

	// The initials, typed (the keyboard's way to sign).
	a.click("field-box-" + aliceFields["initials"])
	a.click("mode-type")
	a.typeInto("type-input", "AW")
	if got := a.text("type-preview"); got != "AW" {
		t.Errorf("typed preview %q", got)
	}
	a.click("field-apply")
	a.click("field-box-" + aliceFields["text"])
	a.typeInto("text-input", "Flat 3B")
	a.click("field-apply")
	if got := a.text("field-box-" + aliceFields["initials"]); got != "AW" {
		t.Errorf("initials box shows %q", got)
	}
	if got := a.text("field-box-" + aliceFields["text"]); got != "Flat 3B" {
		t.Errorf("text box shows %q", got)
	}
	webtest.Screenshot(t, a.ctx, "sign-3-fields")
	webtest.Audit(t, a.ctx, "sign-3-fields")

	a.click("to-sign")
	a.do(chromedp.WaitVisible(chromedp.ID("sign-heading")))
	if !signEval[bool](a, `document.getElementById('sign-button').disabled`) {
		t.Error("sign is enabled before consent")
	}
	if got := a.text("consent-text"); len(got) < 40 {
		t.Errorf("consent text %q", got)
	}
	a.click("consent-check")
	a.waitFor(`!document.getElementById('sign-button').disabled`)
	webtest.Screenshot(t, a.ctx, "sign-4-consent")
	webtest.Audit(t, a.ctx, "sign-4-consent")

	a.click("sign-button")
	a.do(chromedp.WaitVisible(chromedp.ID("done-heading")))
	if got := a.text("done-text"); !strings.Contains(got, "You signed") {
		t.Errorf("done says %q", got)
	}
	webtest.Screenshot(t, a.ctx, "sign-5-done")
	webtest.Audit(t, a.ctx, "sign-5-done")

	// What the page sent: the drawn strokes (three, after the undo), the
	// typed initials and the text; the date is the server's.
	sent := a.signRequest()
	want := map[string]string{aliceFields["initials"]: "AW", aliceFields["text"]: "Flat 3B"}
	for _, f := range sent.Fields {
		switch {
		case f.ID == aliceFields["signature"]:
			if len(f.Strokes) != 3 || f.Text != "" {
				t.Errorf("signature sent with %d strokes and text %q", len(f.Strokes), f.Text)
			}
			for _, s := range f.Strokes {
				for _, pt := range s {
					if len(pt) != 2 || pt[0] < 0 || pt[0] > 1 || pt[1] < 0 || pt[1] > 1 {
						t.Errorf("stroke point %v", pt)
					}
				}
			}
		case want[f.ID] != "":
			if f.Text != want[f.ID] {
				t.Errorf("field %s sent %q", f.ID, f.Text)
			}
			delete(want, f.ID)
		default:
			t.Errorf("field %s sent", f.ID)
		}
	}
	if len(want) != 0 || len(sent.Fields) != 3 {
		t.Errorf("fields sent: %+v", sent.Fields)
	}

	signed := a.download()
	rep, err := pades.Verify(bytes.NewReader(signed), int64(len(signed)), pades.VerifyOptions{Roots: r.roots()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Signer == nil || !slices.Contains(rep.Signatures[0].Signer.Email, alice[1]) {
		t.Errorf("downloaded document: valid=%v, %d signatures", rep.Valid, len(rep.Signatures))
		for _, s := range rep.Signatures {
			t.Logf("  %s %s %s %+v", s.Field, s.Verdict, s.Reason, s.Signer)
		}
	}
	// Her four fields are the widgets of her signature, in their boxes.
	rects := pdfsigtest.WidgetRects(t, signed)
	for _, f := range signFieldSpecs(2)[:4] {
		x, y := float64(f["x"].(int)), f["y"].(float64)
		w, h := float64(f["width"].(int)), float64(f["height"].(int))
		found := false
		for _, r := range rects {
			if near(r[0], x) && near(r[1], y) && near(r[2], x+w) && near(r[3], y+h) {
				found = true
			}
		}
		if !found {
			t.Errorf("no widget for the %s field at %v, %v: widgets %v", f["kind"], x, y, rects)
		}
	}
	if len(rects) != 4 {
		t.Errorf("%d widgets, want her 4", len(rects))
	}
	a.checkConsole("401 /v1/recipient/verify")

	// The link, used, opens nothing.
	again := r.openSign(t, alice[1], aliceLink, 1100, 900)
	again.click("send-code")
	if kind := again.noticeKind(); kind != "used" {
		t.Errorf("a used link shows %q", kind)
	}
	if !strings.Contains(again.text("notice-heading"), "already finished") {
		t.Errorf("used link says %q", again.text("notice-heading"))
	}
	again.checkConsole("401 /v1/recipient/code")
}

// signRequest returns what the page sent to POST /v1/recipient/sign.
type signRequestBody struct {
	Fields []struct {
		ID      string        `json:"id"`
		Text    string        `json:"text"`
		Strokes [][][]float64 `json:"strokes"`
	} `json:"fields"`
}

func (p *signPage) signRequest() signRequestBody {
	p.t.Helper()
	p.mu.Lock()
	rs := slices.Clone(p.responses)
	p.mu.Unlock()
	for _, e := range rs {
		if strings.HasSuffix(e.Response.URL, "/v1/recipient/sign") {
			res, err := chromedp.Call(p.ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: e.RequestID})
			if err != nil {
				p.t.Fatal(err)
			}
			var body signRequestBody
			if err := json.Unmarshal(res.PostData, &body); err != nil {
				p.t.Fatalf("sign body %q: %v", res.PostData, err)
			}
			return body
		}
	}
	p.t.Fatal("the page never called POST /v1/recipient/sign")
	return signRequestBody{}
}

// download clicks "Download signed document" and returns the file the
// browser saved.
func (p *signPage) download() []byte {
	p.t.Helper()
	dir := p.t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
	}); err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	p.click("download-signed")
	for ev, err := range progress {
		if err != nil {
			p.t.Fatalf("download: %v", err)
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				p.t.Fatal(err)
			}
			return b
		case cdpbrowser.DownloadProgressStateCanceled:
			p.t.Fatal("download cancelled")
		}
	}
	p.t.Fatal("no download")
	return nil
}

// TestWebSignDecline: a recipient declines from the page; the reason is
// required, and the envelope ends declined with it.
func TestWebSignDecline(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	p := r.party(ctx, "Web Decline Corp")
	dora := [2]string{"Dora Decliner", "dora@webdecline.example"}
	e := p.createSignEnvelope(t, ctx, signSpec{title: "Service contract", signers: [][2]string{dora}, fields: signFieldSpecs(1)})
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, dora[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	b := r.openSign(t, dora[1], link, 1100, 900)
	b.verify(false)

	// The keyboard alone fills a signature: "Next field" to the box,
	// Enter opens it, Tab to "Type", Enter, the name, Enter applies.
	sig := e.fieldsOf(t, dora[1])["signature"]
	b.do(chromedp.Focus(chromedp.ID("next-field")), chromedp.KeyEvent(kb.Enter))
	if focused := signEval[string](b, `document.activeElement.id`); focused != "field-box-"+sig {
		t.Fatalf("next field focused %q", focused)
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitFor(`document.getElementById('field-dialog').open && document.activeElement.id === 'mode-draw'`)
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	b.waitFor(`document.activeElement.id === 'type-input'`)
	b.do(chromedp.KeyEvent("Dora Decliner"), chromedp.KeyEvent(kb.Enter))
	b.waitFor(fmt.Sprintf(`!document.getElementById('field-dialog').open && document.getElementById('field-box-%s').dataset.filled === 'true'`, sig))
	if got := b.text("field-box-" + sig); got != "Dora Decliner" {
		t.Errorf("typed signature shows %q", got)
	}
	if focused := signEval[string](b, `document.activeElement.id`); focused != "field-box-"+sig {
		t.Errorf("focus after the editor: %q", focused)
	}

	b.click("decline-open")
	b.click("decline-confirm")
	if got := b.text("decline-error"); !strings.Contains(got, "reason") {
		t.Errorf("an empty reason says %q", got)
	}
	b.typeInto("decline-reason", "The rent is wrong.")
	b.click("decline-confirm")
	if kind := b.noticeKind(); kind != "you-declined" {
		t.Fatalf("after declining: %q", kind)
	}
	if focused := signEval[string](b, `document.activeElement.id`); focused != "notice-heading" {
		t.Errorf("focus on %q", focused)
	}
	webtest.Screenshot(t, b.ctx, "sign-declined")
	webtest.Audit(t, b.ctx, "sign-declined")
	got, err := p.sender.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workflow.StatusDeclined || len(got.Recipients) != 1 || got.Recipients[0].DeclineReason != "The rent is wrong." {
		t.Errorf("envelope %s, recipients %+v", got.Status, got.Recipients)
	}
	b.checkConsole()
}

// TestWebSignAccessCode: a recipient whose sender gave them an access
// code is asked for it (no code is sent): a wrong one is refused with
// the API's reason, the right one opens the documents.
func TestWebSignAccessCode(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	p := r.party(ctx, "Web Access Corp")
	ann := [2]string{"Ann Access", "ann@webaccess.example"}
	p.createSignEnvelope(t, ctx, signSpec{title: "Key handover", signers: [][2]string{ann}, accessCode: "blue-harbour-42"})
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, ann[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	b := r.openSign(t, ann[1], link, 1100, 900)
	b.click("send-code")
	b.do(chromedp.WaitVisible(chromedp.ID("code")))
	if got := b.text("code-label"); got != "Access code" {
		t.Errorf("label %q", got)
	}
	if got := signEval[string](b, `document.getElementById('code').getAttribute('inputmode')`); got != "text" {
		t.Errorf("an access code is typed with inputmode %q", got)
	}
	if n, err := mb.Count(ann[1]); err != nil || n != 1 {
		t.Errorf("%d messages (%v): a code was sent", n, err)
	}
	b.typeInto("code", "red-harbour-41")
	b.click("verify-code")
	b.waitFor(`document.getElementById('verify-error').innerText.includes('wrong')`)
	b.do(chromedp.Clear(chromedp.ID("code")))
	b.typeInto("code", "blue-harbour-42")
	b.click("verify-code")
	b.do(chromedp.WaitVisible(chromedp.ID("review-heading")))
	if got := b.text("envelope-subject"); got != "Key handover" {
		t.Errorf("subject %q", got)
	}
	// No fields: the list says so, and signing needs only the consent.
	if got := b.text("fields-summary"); !strings.Contains(got, "nothing to fill") {
		t.Errorf("fields summary %q", got)
	}
	b.checkConsole("409 /v1/recipient/code", "401 /v1/recipient/verify")
}

// TestWebSignRotatedPage: on a page shown turned a quarter clockwise
// (/Rotate 90) the signature box is drawn where the field lies on the
// page as shown, upright (tall), and the drawing signed into it becomes
// the widget at the field's place on the unrotated page.
func TestWebSignRotatedPage(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	p := r.party(ctx, "Web Rotated Corp")
	rui := [2]string{"Rui Rotated", "rui@webrotated.example"}
	e := p.createSignEnvelope(t, ctx, signSpec{title: "Landscape plan", signers: [][2]string{rui}, rotate: 90,
		fields: []map[string]any{{"recipient": 0, "kind": "signature", "page": 1, "x": 72, "y": 600, "width": 200, "height": 50, "required": true}}})
	sig := e.fieldsOf(t, rui[1])["signature"]
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, rui[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	b := r.openSign(t, rui[1], link, 1100, 900)
	b.verify(false)
	// The 595 × 842 page is shown 842 wide and 595 high; the field's box
	// (x 72, y 600, 200 × 50 from the lower left) turns with it: 600 from
	// the shown page's left, 72 from its top, 50 wide and 200 high.
	geo := signEval[[]float64](b, fmt.Sprintf(`(() => {
		const p = document.querySelector('#documents .pdf-page').getBoundingClientRect();
		const f = document.getElementById('field-box-%s').getBoundingClientRect();
		return [p.width, p.height, f.left - p.left, f.top - p.top, f.width, f.height];
	})()`, sig))
	scale := geo[0] / 842
	if d := geo[1] - 595*scale; d > 1.5 || d < -1.5 {
		t.Errorf("page shown %v × %v", geo[0], geo[1])
	}
	for i, want := range []float64{600, 72, 50, 200} {
		if d := geo[2+i] - want*scale; d > 1.5 || d < -1.5 {
			t.Errorf("box %v, want %v at scale %v", geo[2:], []float64{600, 72, 50, 200}, scale)
			break
		}
	}
	b.click("field-box-" + sig)
	b.do(chromedp.WaitVisible(chromedp.ID("draw-pad")))
	pad := signEval[[]float64](b, `(() => { const r = document.getElementById('draw-pad').getBoundingClientRect(); return [r.width, r.height]; })()`)
	if ratio := pad[1] / pad[0]; ratio < 3.9 || ratio > 4.1 {
		t.Errorf("drawing area %v: not the box's proportions as shown (4:1 tall)", pad)
	}
	b.stroke("mouse", [2]float64{0.2, 0.1}, [2]float64{0.8, 0.9})
	b.click("field-apply")
	b.click("to-sign")
	b.click("consent-check")
	b.waitFor(`!document.getElementById('sign-button').disabled`)
	b.click("sign-button")
	b.do(chromedp.WaitVisible(chromedp.ID("done-heading")))
	if got := b.text("done-completed"); !strings.Contains(got, "complete") {
		t.Errorf("done says %q", got)
	}
	// The last signature completed the envelope; the signer still
	// downloads their copy: the completed, sealed document.
	copied := b.download()
	b.checkConsole()
	final, err := p.sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, final) {
		t.Errorf("the last signer downloaded %d bytes, not the completed document (%d bytes)", len(copied), len(final))
	}
	rects := pdfsigtest.WidgetRects(t, final)
	if len(rects) != 1 || !near(rects[0][0], 72) || !near(rects[0][1], 600) || !near(rects[0][2], 272) || !near(rects[0][3], 650) {
		t.Errorf("widgets %v", rects)
	}
}

// TestWebSignProblemPages: a link that is missing, cut short, unknown,
// of a voided envelope, of an expired one, or locked after too many wrong
// codes each ends on its own page, without a script error.
func TestWebSignProblemPages(t *testing.T) {
	ctx := context.Background()
	clk := &movedClock{}
	r := start(t, filepath.Join(t.TempDir(), "data"), nil, server.WithClock(clk.Now))
	p := r.party(ctx, "Web Problems Corp")
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}

	cases := []struct {
		name, fragment, kind, heading string
		click                         bool
		refused                       []string
	}{
		{"no token", "", "no-link", "Open the link from your e-mail", false, nil},
		{"cut short", "abc123", "malformed-link", "This link is incomplete", false, nil},
		{"unknown token", randomLinkToken(), "wrong-link", "This link is not valid", true, []string{"401 /v1/recipient/code"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := r.openSign(t, "", c.fragment, 800, 700)
			if c.click {
				b.click("send-code")
			}
			if kind := b.noticeKind(); kind != c.kind {
				t.Errorf("kind %q, want %q", kind, c.kind)
			}
			if got := b.text("notice-heading"); got != c.heading {
				t.Errorf("heading %q", got)
			}
			b.checkConsole(c.refused...)
		})
	}

	t.Run("voided", func(t *testing.T) {
		vic := [2]string{"Victor Voided", "victor@webproblems.example"}
		e := p.createSignEnvelope(t, ctx, signSpec{title: "Withdrawn offer", signers: [][2]string{vic}})
		link, err := mb.Link(ctx, vic[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.sender.Void(ctx, e.ID, "sent by mistake"); err != nil {
			t.Fatal(err)
		}
		b := r.openSign(t, vic[1], link, 800, 700)
		b.click("send-code")
		if kind := b.noticeKind(); kind != "voided" {
			t.Errorf("kind %q", kind)
		}
		if got := b.text("notice-heading"); !strings.Contains(got, "withdrew") {
			t.Errorf("heading %q", got)
		}
		b.checkConsole("410 /v1/recipient/code")
	})

	t.Run("too many wrong codes", func(t *testing.T) {
		lou := [2]string{"Lou Locked", "lou@webproblems.example"}
		p.createSignEnvelope(t, ctx, signSpec{title: "Locked offer", signers: [][2]string{lou}})
		link, err := mb.Link(ctx, lou[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		b := r.openSign(t, lou[1], link, 800, 700)
		b.click("send-code")
		code, err := mb.Code(ctx, lou[1], 2)
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 0; i < 10 && !signEval[bool](b, `!document.getElementById('notice').classList.contains('hidden')`); i++ {
			b.do(chromedp.Clear(chromedp.ID("code")))
			b.typeInto("code", wrong)
			b.click("verify-code")
			b.waitFor(`!document.getElementById('verify-code').disabled || !document.getElementById('notice').classList.contains('hidden')`)
		}
		if kind := b.noticeKind(); kind != "too-many-attempts" {
			t.Errorf("kind %q", kind)
		}
		// The wait comes from the answer's Retry-After.
		if got := b.text("notice"); !strings.Contains(got, "try again in") {
			t.Errorf("the locked page says %q, not when to try again", got)
		}
		b.checkConsole("401 /v1/recipient/verify", "429 /v1/recipient/verify")
	})

	t.Run("session ends", func(t *testing.T) {
		sam := [2]string{"Sam Session", "sam@webproblems.example"}
		e := p.createSignEnvelope(t, ctx, signSpec{title: "Slow reader", signers: [][2]string{sam}, fields: signFieldSpecs(1)})
		link, err := mb.Link(ctx, sam[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		text := e.fieldsOf(t, sam[1])["text"]
		b := r.openSign(t, sam[1], link, 1100, 900)
		b.verify(false)
		b.click("field-box-" + text)
		b.typeInto("text-input", "Room 12")
		b.click("field-apply")
		// Half an hour later the session has ended: consenting sends the
		// recipient back to step 1, and what they filled in stays.
		clk.Set(time.Now().Add(31 * time.Minute))
		b.click("to-sign")
		b.click("consent-check")
		b.do(chromedp.WaitVisible(chromedp.ID("verify-heading")))
		if got := b.text("verify-error"); !strings.Contains(got, "session has ended") {
			t.Errorf("step 1 says %q", got)
		}
		b.verify(false)
		if got := b.text("field-box-" + text); got != "Room 12" {
			t.Errorf("after verifying again the text field shows %q", got)
		}
		b.checkConsole("401 /v1/recipient/consent")
	})

	t.Run("expired", func(t *testing.T) {
		exp := time.Now().Add(2 * time.Hour)
		eve := [2]string{"Eve Expired", "eve@webproblems.example"}
		p.createSignEnvelope(t, ctx, signSpec{title: "Old offer", signers: [][2]string{eve}, expiresAt: &exp})
		link, err := mb.Link(ctx, eve[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(exp.Add(time.Hour))
		b := r.openSign(t, eve[1], link, 800, 700)
		b.click("send-code")
		if kind := b.noticeKind(); kind != "expired" {
			t.Errorf("kind %q", kind)
		}
		if got := b.text("notice-heading"); got != "This link has expired" {
			t.Errorf("heading %q", got)
		}
		webtest.Screenshot(t, b.ctx, "sign-expired")
		webtest.Audit(t, b.ctx, "sign-expired")
		b.checkConsole("410 /v1/recipient/code")
	})
}

// randomLinkToken returns a well-formed link token that no link has.
func randomLinkToken() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 43)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// near reports whether a and b are within a hundredth of a point.
func near(a, b float64) bool { return a-b < 0.01 && b-a < 0.01 }
