package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/auditview"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/keyadmin"
)

// adminUser is a user of a tenant with a session: its cookie and CSRF
// token.
type adminUser struct {
	r             *running
	cookie, csrf  string
	bearer        string
	tenant, label string
}

// user creates a user of tenant with the built-in role and a session,
// strong if its strong authentication is recent enough for a step-up.
func (r *running) user(t *testing.T, tenant, role string, strong bool) adminUser {
	t.Helper()
	st := r.srv.IdentityStore()
	id := fmt.Sprintf("u-%s-%s-%v", role, tenant, strong)
	matrixUser(t, st, tenant, id, role)
	cookie, csrf := session(t, st, tenant, id, strong)
	return adminUser{r: r, cookie: cookie, csrf: csrf, tenant: tenant, label: id}
}

// call sends a request as u and decodes a JSON answer into out (if not
// nil and the answer is 2xx); it returns the status and, for an error,
// the problem.
func (u adminUser) call(t *testing.T, method, path string, body any, out any) (int, api.Problem) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u.r.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-" + login.DefaultCookieName, Value: u.cookie})
		req.Header.Set(login.CSRFHeader, u.csrf)
	}
	if u.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+u.bearer)
	}
	res, err := u.r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var p api.Problem
	if res.StatusCode >= 300 {
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s %s: %d with Content-Type %q, want a problem", method, path, res.StatusCode, ct)
		}
		json.Unmarshal(b, &p)
		return res.StatusCode, p
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return res.StatusCode, p
}

// must is call that fails the test unless the answer has status want.
func (u adminUser) must(t *testing.T, want int, method, path string, body, out any) {
	t.Helper()
	if status, p := u.call(t, method, path, body, out); status != want {
		t.Fatalf("%s %s as %s: %d %s (%s), want %d", method, path, u.label, status, p.Type, p.Detail, want)
	}
}

// allEvents pages through the tenant's events (of envelope, if not
// empty) limit at a time.
func (u adminUser) allEvents(t *testing.T, limit int, envelope string) []auditview.Event {
	t.Helper()
	path := fmt.Sprintf("/v1/audit/events?limit=%d", limit)
	if envelope != "" {
		path += "&envelope=" + envelope
	}
	return u.eventPages(t, path, limit)
}

// eventPages pages through a list of audit events at path (whose query
// sets limit), following each page's next.
func (u adminUser) eventPages(t *testing.T, path string, limit int) []auditview.Event {
	t.Helper()
	var all []auditview.Event
	after := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the pages do not end")
		}
		var page auditview.Page
		u.must(t, http.StatusOK, "GET", path+after, nil, &page)
		if len(page.Events) > limit {
			t.Fatalf("a page of %d events, limit %d", len(page.Events), limit)
		}
		all = append(all, page.Events...)
		if page.Next == nil {
			return all
		}
		if len(page.Events) == 0 || *page.Next != page.Events[len(page.Events)-1].Index {
			t.Fatalf("next %d does not follow the page's last event", *page.Next)
		}
		after = fmt.Sprintf("&after=%d", *page.Next)
	}
}

// TestAuditEventsOfTheTenant: an auditor lists the events of their tenant
// only, page by page, without the sensitive values; the envelope filter
// keeps one envelope's; events become anchored once a checkpoint covering
// them is published and anchored; the checkpoint endpoint shows it; the
// envelope history names each transition's audit index and anchoring; a
// sender is refused the log (403 problem).
func TestAuditEventsOfTheTenant(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	a, b := r.party(ctx, "Acme"), r.party(ctx, "Bolt")
	signersA := [][2]string{{"Ann", "ann.secret@example.com"}}
	envA, _ := a.envelope(t, ctx, "Lease", signersA, true)
	envB, _ := b.envelope(t, ctx, "Bolt lease", [][2]string{{"Bob", "bob.secret@example.com"}}, true)
	r.signAll(ctx, signersA)
	auditor := r.user(t, a.tenant.ID, authz.RoleAuditor, false)

	all := auditor.allEvents(t, auditview.MaxLimit, "")
	if len(all) < 5 {
		t.Fatalf("%d events of the tenant, want the envelope's story", len(all))
	}
	raw := new(bytes.Buffer)
	json.NewEncoder(raw).Encode(all)
	for _, leak := range []string{envB.ID, b.tenant.ID, "bob.secret@example.com", "ann.secret@example.com", "Ann"} {
		if strings.Contains(raw.String(), leak) {
			t.Errorf("the tenant's events show %q", leak)
		}
	}
	sealed := 0
	for i, e := range all {
		if i > 0 && e.Index <= all[i-1].Index {
			t.Fatalf("events out of order: %d after %d", e.Index, all[i-1].Index)
		}
		if e.Subject.EnvelopeID != "" && e.Subject.EnvelopeID != envA.ID {
			t.Errorf("event %d names envelope %s", e.Index, e.Subject.EnvelopeID)
		}
		if len(e.Sealed) > 0 {
			sealed++
		}
	}
	if sealed == 0 {
		t.Error("no event names a withheld sensitive field")
	}
	// Small pages give the same events.
	paged := auditor.allEvents(t, 3, "")
	if len(paged) < len(all) {
		t.Fatalf("pages of 3 gave %d events, one page %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].Index != all[i].Index || paged[i].ID != all[i].ID {
			t.Fatalf("pages of 3: event %d is %d, want %d", i, paged[i].Index, all[i].Index)
		}
	}
	// The envelope filter.
	ofEnv := auditor.allEvents(t, 2, envA.ID)
	want := 0
	for _, e := range all {
		if e.Subject.EnvelopeID == envA.ID {
			want++
		}
	}
	if len(ofEnv) < want || want == 0 {
		t.Fatalf("%d events of the envelope, want at least %d", len(ofEnv), want)
	}
	for _, e := range ofEnv {
		if e.Subject.EnvelopeID != envA.ID {
			t.Errorf("the envelope filter gave event %d of %q", e.Index, e.Subject.EnvelopeID)
		}
	}
	// Another tenant's envelope has no events here.
	if got := auditor.allEvents(t, 50, envB.ID); len(got) != 0 {
		t.Errorf("the other tenant's envelope shows %d events", len(got))
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "after=-2", "after=x"} {
		if status, p := auditor.call(t, "GET", "/v1/audit/events?"+q, nil, nil); status != http.StatusUnprocessableEntity {
			t.Errorf("?%s: %d %s, want 422", q, status, p.Type)
		}
	}

	// Anchoring: once a checkpoint is published (and anchored), every
	// event listed before is anchored.
	last := all[len(all)-1]
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if !last.Anchored {
		t.Logf("event %d was not anchored before the checkpoint", last.Index)
	}
	for _, e := range auditor.allEvents(t, auditview.MaxLimit, "") {
		if e.Index <= last.Index && !e.Anchored {
			t.Errorf("event %d (%s) not anchored after the checkpoint", e.Index, e.Type)
		}
	}
	var cp auditview.CheckpointView
	auditor.must(t, http.StatusOK, "GET", "/v1/audit/checkpoint", nil, &cp)
	if cp.Size <= last.Index || cp.SettledSize < cp.Size || !strings.Contains(cp.Checkpoint, fmt.Sprintf("\n%d\n", cp.Size)) {
		t.Errorf("checkpoint size %d, settled %d, after event %d: %q", cp.Size, cp.SettledSize, last.Index, cp.Checkpoint)
	}
	if h, err := base64.StdEncoding.DecodeString(cp.RootHash); err != nil || len(h) != 32 || !strings.Contains(cp.Checkpoint, cp.RootHash) {
		t.Errorf("root hash %q", cp.RootHash)
	}
	kinds := map[string]bool{}
	for _, an := range cp.Anchors {
		kinds[an.Kind] = true
		if an.Size != cp.Size || an.Time.IsZero() || an.Data == "" {
			t.Errorf("anchor %+v", an)
		}
		if an.Kind == "sink" && an.Locator == "" {
			t.Errorf("sink anchor without locator: %+v", an)
		}
	}
	if !kinds["rfc3161"] || !kinds["sink"] {
		t.Errorf("anchor kinds %v, want rfc3161 and sink", kinds)
	}

	// The envelope history names each transition's audit event's index.
	var hist struct {
		Transitions []struct {
			AuditEventID string `json:"audit_event_id"`
			AuditIndex   *int64 `json:"audit_index"`
			Anchored     *bool  `json:"anchored"`
		} `json:"transitions"`
	}
	res := r.do("GET", "/v1/envelopes/"+envA.ID+"/history", strings.TrimPrefix(a.sender.Authorization, "Bearer "), nil)
	if res.status != http.StatusOK || json.Unmarshal(res.body, &hist) != nil || len(hist.Transitions) < 2 {
		t.Fatalf("history: %d %s", res.status, res.body)
	}
	byIndex := map[int64]auditview.Event{}
	for _, e := range all {
		byIndex[e.Index] = e
	}
	for _, tr := range hist.Transitions {
		if tr.AuditIndex == nil || tr.Anchored == nil {
			t.Fatalf("transition of %s without audit_index or anchored: %s", tr.AuditEventID, res.body)
		}
		if e, ok := byIndex[*tr.AuditIndex]; !ok || e.ID != tr.AuditEventID {
			t.Errorf("transition's audit_index %d is event %q, want %s", *tr.AuditIndex, e.ID, tr.AuditEventID)
		}
		if *tr.AuditIndex <= last.Index && !*tr.Anchored {
			t.Errorf("transition's event %d not anchored after the checkpoint", *tr.AuditIndex)
		}
	}

	// A sender may not read the log; the other tenant's auditor sees
	// none of this tenant's events.
	sender := adminUser{r: r, bearer: strings.TrimPrefix(a.sender.Authorization, "Bearer "), label: "sender"}
	for _, path := range []string{"/v1/audit/events", "/v1/audit/checkpoint", "/v1/keys"} {
		if status, p := sender.call(t, "GET", path, nil, nil); status != http.StatusForbidden || p.Status != http.StatusForbidden {
			t.Errorf("GET %s as a sender: %d %+v, want a 403 problem", path, status, p)
		}
	}
	other := r.user(t, b.tenant.ID, authz.RoleAuditor, false)
	for _, e := range other.allEvents(t, auditview.MaxLimit, "") {
		if _, ours := byIndex[e.Index]; ours || e.Subject.EnvelopeID == envA.ID {
			t.Errorf("the other tenant's auditor sees event %d of this tenant", e.Index)
		}
	}
}

// keyList fetches GET /v1/keys as u.
func (u adminUser) keyList(t *testing.T) []keyadmin.KeyView {
	t.Helper()
	var out struct{ Keys []keyadmin.KeyView }
	u.must(t, http.StatusOK, "GET", "/v1/keys", nil, &out)
	return out.Keys
}

// findKey returns the versions of the tenant's key of purpose.
func findKey(t *testing.T, ks []keyadmin.KeyView, purpose string) []keyadmin.KeyView {
	t.Helper()
	var out []keyadmin.KeyView
	for _, k := range ks {
		if k.Purpose == purpose {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s key in %+v", purpose, ks)
	}
	return out
}

// TestKeyAdministration: the keys listing shows the tenant's issuing CA
// and seal key with their certificates' expiry and the KEK; rotating the
// seal key (key.admin, step-up) retires the old version and records
// key.rotated; revoking a signer's certificate makes the OCSP responder
// and the CRL report it revoked; what the service needs is refused (409);
// a sender is forbidden and a session without a recent strong
// authentication must step up.
func TestKeyAdministration(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	a, b := r.party(ctx, "Acme"), r.party(ctx, "Bolt")
	signers := [][2]string{{"Ann", "ann@example.com"}}
	env, _ := a.envelope(t, ctx, "Lease", signers, true)
	r.signAll(ctx, signers)
	if e, err := a.sender.Envelope(ctx, env.ID); err != nil || e.Status != "completed" {
		t.Fatalf("envelope: %v %v", e.Status, err)
	}
	auditor := r.user(t, a.tenant.ID, authz.RoleAuditor, false)
	custodian := r.user(t, a.tenant.ID, authz.RoleKeyCustodian, true)
	weak := r.user(t, a.tenant.ID, authz.RoleKeyCustodian, false)

	ks := auditor.keyList(t)
	ca := findKey(t, ks, "issuing-ca")
	var caCertView *keyadmin.CertificateView
	for _, k := range ca {
		if k.Certificate != nil && k.Certificate.Kind == "issuing" {
			caCertView = k.Certificate
		}
	}
	if caCertView == nil || caCertView.Status != keyadmin.StatusActive || !caCertView.NotAfter.After(caCertView.NotBefore) {
		t.Fatalf("issuing CA key without an active CA certificate: %+v", ca)
	}
	seal := findKey(t, ks, "platform-seal")
	if len(seal) != 1 || seal[0].Status != keyadmin.StatusActive || !seal[0].Rotatable || seal[0].Certificate == nil ||
		seal[0].Certificate.Status != keyadmin.StatusActive || seal[0].Certificate.NotAfter.IsZero() {
		t.Fatalf("seal key: %+v", seal)
	}
	if kek := findKey(t, ks, "data-key-wrapping"); kek[0].Status != keyadmin.StatusActive || kek[0].Certificate != nil {
		t.Fatalf("KEK: %+v", kek)
	}
	sealID, sealSerial := seal[0].ID, seal[0].Certificate.Serial
	// The other tenant's keys are not this tenant's.
	for _, k := range r.user(t, b.tenant.ID, authz.RoleAuditor, false).keyList(t) {
		if k.ID == sealID || k.ID == ca[0].ID {
			t.Errorf("the other tenant lists key %s", k.ID)
		}
	}

	// Forbidden for a sender; step-up for a weak session; another
	// tenant's custodian does not find the key.
	sender := adminUser{r: r, bearer: strings.TrimPrefix(a.sender.Authorization, "Bearer "), label: "sender"}
	otherCustodian := r.user(t, b.tenant.ID, authz.RoleKeyCustodian, true)
	for _, path := range []string{"/v1/keys/" + sealID + "/rotate", "/v1/certificates/" + sealSerial + "/revoke"} {
		body := map[string]string{"reason": "keyCompromise"}
		if status, p := sender.call(t, "POST", path, body, nil); status != http.StatusForbidden || p.Status != http.StatusForbidden {
			t.Errorf("POST %s as a sender: %d %+v, want a 403 problem", path, status, p)
		}
		if status, p := weak.call(t, "POST", path, body, nil); status != http.StatusUnauthorized || p.Type != api.ProblemBase+"step-up-required" {
			t.Errorf("POST %s without step-up: %d %s, want 401 step-up-required", path, status, p.Type)
		}
		if status, p := auditor.call(t, "POST", path, body, nil); status != http.StatusForbidden {
			t.Errorf("POST %s as an auditor: %d %s, want 403", path, status, p.Type)
		}
		if status, p := otherCustodian.call(t, "POST", path, body, nil); status != http.StatusNotFound {
			t.Errorf("POST %s as another tenant's custodian: %d %s, want 404", path, status, p.Type)
		}
	}

	// What the service needs is not revoked.
	root := caCert(t, r, "root")
	refuse := map[string]string{
		"root":                      root.SerialNumber.Text(16),
		"TSA":                       tsaCert(t, r).SerialNumber.Text(16),
		"tenant CA":                 caCertView.Serial,
		"seal key's active version": sealSerial,
	}
	for what, serial := range refuse {
		status, p := custodian.call(t, "POST", "/v1/certificates/"+serial+"/revoke", map[string]string{"reason": "keyCompromise"}, nil)
		if status != http.StatusConflict || p.Type != api.ProblemBase+"certificate-in-use" || p.Detail == "" {
			t.Errorf("revoking the %s certificate: %d %s, want 409 certificate-in-use", what, status, p.Type)
		}
	}
	if status, p := custodian.call(t, "POST", "/v1/keys/"+ca[0].ID+"/rotate", nil, nil); status != http.StatusConflict {
		t.Errorf("rotating the CA key: %d %s, want 409", status, p.Type)
	}

	// Rotating the seal key.
	var rotated struct{ Keys []keyadmin.KeyView }
	custodian.must(t, http.StatusOK, "POST", "/v1/keys/"+sealID+"/rotate", nil, &rotated)
	if len(rotated.Keys) != 2 || rotated.Keys[0].Version != 2 || rotated.Keys[0].Status != keyadmin.StatusActive ||
		rotated.Keys[1].Version != 1 || rotated.Keys[1].Status != keyadmin.StatusRetired {
		t.Fatalf("after the rotation: %+v", rotated.Keys)
	}
	seal = findKey(t, auditor.keyList(t), "platform-seal")
	if len(seal) != 2 || seal[0].Status != keyadmin.StatusActive || seal[1].Status != keyadmin.StatusRetired || seal[1].Certificate.Serial != sealSerial ||
		seal[0].Certificate == nil || seal[0].Certificate.Serial == sealSerial || seal[0].Certificate.Status != keyadmin.StatusActive {
		t.Fatalf("seal key after the rotation: %+v", seal)
	}
	// Rotating the KEK: data sealed under the old version still opens.
	kek := findKey(t, auditor.keyList(t), "data-key-wrapping")
	custodian.must(t, http.StatusOK, "POST", "/v1/keys/"+kek[0].ID+"/rotate", nil, &rotated)
	if len(rotated.Keys) != 2 || rotated.Keys[0].Status != keyadmin.StatusActive || rotated.Keys[1].Status != keyadmin.StatusRetired {
		t.Fatalf("KEK after the rotation: %+v", rotated.Keys)
	}
	if e, err := a.sender.Envelope(ctx, env.ID); err != nil || len(e.Recipients) != 1 || e.Recipients[0].Email != "ann@example.com" {
		t.Fatalf("the envelope after the KEK's rotation: %+v, %v", e.Recipients, err)
	}
	// The retired version's certificate may now be revoked.
	var rc keyadmin.CertificateView
	custodian.must(t, http.StatusOK, "POST", "/v1/certificates/"+sealSerial+"/revoke", map[string]string{"reason": "superseded"}, &rc)
	if rc.Status != keyadmin.StatusRevoked || rc.RevocationReason != "superseded" {
		t.Errorf("revoked seal certificate: %+v", rc)
	}

	events := auditor.allEvents(t, auditview.MaxLimit, "")
	for _, id := range []string{sealID, kek[0].ID} {
		if !slices.ContainsFunc(events, func(e auditview.Event) bool {
			return e.Type == "key.rotated" && e.Subject.KeyID == id && e.Subject.KeyVersion == "2"
		}) {
			t.Errorf("no key.rotated event of key %s", id)
		}
	}

	// Revoking the signer's certificate: find it among the tenant's
	// certificate.issued events (not the seal's).
	var signerSerial string
	for _, e := range events {
		if e.Type == "certificate.issued" && e.Details["kind"] == "signer" && e.Subject.KeyID != sealID {
			signerSerial = e.Subject.CertificateSerial
		}
	}
	if signerSerial == "" {
		t.Fatal("no signer certificate issued")
	}
	serial, _ := new(big.Int).SetString(signerSerial, 16)
	issuer := caCert(t, r, a.tenant.ID)
	if st := ocspStatus(t, r, serial, issuer); st != ocsp.Good {
		t.Fatalf("OCSP before the revocation: %d, want good", st)
	}
	custodian.must(t, http.StatusOK, "POST", "/v1/certificates/"+strings.ToUpper(signerSerial)+"/revoke", map[string]string{"reason": "keyCompromise"}, &rc)
	if rc.Status != keyadmin.StatusRevoked || rc.Serial != signerSerial {
		t.Errorf("revoked: %+v", rc)
	}
	if st := ocspStatus(t, r, serial, issuer); st != ocsp.Revoked {
		t.Errorf("OCSP after the revocation: %d, want revoked", st)
	}
	if !crlLists(t, r, a.tenant.ID, issuer, serial) {
		t.Error("the tenant CA's CRL does not list the revoked certificate")
	}
	if status, p := custodian.call(t, "POST", "/v1/certificates/"+signerSerial+"/revoke", map[string]string{"reason": "keyCompromise"}, nil); status != http.StatusConflict || p.Type != api.ProblemBase+"certificate-revoked" {
		t.Errorf("revoking twice: %d %s, want 409 certificate-revoked", status, p.Type)
	}
	for _, body := range []map[string]string{{}, {"reason": "because"}} {
		if status, _ := custodian.call(t, "POST", "/v1/certificates/"+signerSerial+"/revoke", body, nil); status != http.StatusUnprocessableEntity {
			t.Errorf("revoking with %v: %d, want 422", body, status)
		}
	}
	if !slices.ContainsFunc(auditor.allEvents(t, auditview.MaxLimit, ""), func(e auditview.Event) bool {
		return e.Type == "certificate.revoked" && e.Subject.CertificateSerial == signerSerial
	}) {
		t.Error("no certificate.revoked event")
	}
}

// ocspStatus asks the PKI's OCSP responder, over HTTP, for the status of
// the certificate serial of issuer.
func ocspStatus(t *testing.T, r *running, serial *big.Int, issuer *x509.Certificate) int {
	t.Helper()
	cert := &x509.Certificate{SerialNumber: serial}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post("http://"+r.srv.PKIAddr().String()+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		t.Fatalf("OCSP response: %v (HTTP %d)", err, res.StatusCode)
	}
	return resp.Status
}

// crlLists reports whether CA name's CRL, signed by issuer, lists serial.
func crlLists(t *testing.T, r *running, name string, issuer *x509.Certificate, serial *big.Int) bool {
	t.Helper()
	res, err := http.Get("http://" + r.srv.PKIAddr().String() + "/crl/" + name + ".crl")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(res.Body)
	res.Body.Close()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("CRL: %v (HTTP %d)", err, res.StatusCode)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}
