package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/server"
)

// alertLines returns the log lines of alerts of rule.
func alertLines(logs, rule string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"ALERT: `+rule+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// raisedEvents returns the alert.raised events' details in the stopped
// server's audit log.
func raisedEvents(t *testing.T, dir string) []string {
	t.Helper()
	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	size, err := st.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.Records(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Type == string(auditlog.AlertRaised) {
			out = append(out, string(r.Leaf))
		}
	}
	return out
}

// TestAlertAuthenticationFailures: wrong one-time codes of one recipient,
// through the API, raise the authentication-failures alert at the
// threshold (not before), logged without the recipient's address and
// recorded in the audit log.
func TestAlertAuthenticationFailures(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, func(c *server.Config) {
		c.Alerts.AuthFailuresRecipient = server.AlertThreshold{Count: 3, Window: server.Duration(time.Hour)}
		c.MetricsListen = "127.0.0.1:0"
	})
	a := r.party(ctx, "Guessed Corp")
	const email = "victim@guessed.example"
	a.envelope(t, ctx, "Target", [][2]string{{"Vic Tim", email}}, true)
	code := r.wrongCodes(ctx, email, 3, func(i int) {
		if got := alertLines(r.logs.String(), "authentication-failures"); len(got) != 0 {
			t.Fatalf("alert after %d wrong codes: %v", i, got)
		}
	})
	// The alert is counted in the metrics too.
	if n := sum(r.scrape(), "signet_alerts_total", map[string]string{"rule": "authentication-failures"}); n != 1 {
		t.Errorf("signet_alerts_total{rule=authentication-failures} = %v, want 1", n)
	}
	lines := alertLines(r.logs.String(), "authentication-failures")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"ERROR"`) || !strings.Contains(lines[0], "recipient") {
		t.Fatalf("alert lines: %v", lines)
	}
	if strings.Contains(lines[0], email) || strings.Contains(lines[0], code) {
		t.Errorf("the alert logs the recipient's address or code: %s", lines[0])
	}
	r.stop()
	events := raisedEvents(t, dir)
	if len(events) != 1 || !strings.Contains(events[0], `"rule":"authentication-failures"`) || !strings.Contains(events[0], a.tenant.ID) {
		t.Fatalf("alert.raised events: %v", events)
	}
}

// TestAlertAdminBurst: a burst of API-key creations by one administrator
// raises the admin-burst alert at the threshold.
func TestAlertAdminBurst(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, func(c *server.Config) {
		c.Alerts.AdminChanges = server.AlertThreshold{Count: 3, Window: server.Duration(time.Hour)}
	})
	c := &apiclient.Client{Base: r.base, HTTP: r.client}
	admin := c.WithAuth("Bearer " + r.bootstrapKey())
	ten, err := admin.CreateTenant(ctx, "Busy Corp")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if got := alertLines(r.logs.String(), "admin-burst"); len(got) != 0 {
			t.Fatalf("alert after %d changes: %v", i-1, got)
		}
		if _, err := admin.CreateKey(ctx, ten.ID, "k", []string{"sender"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := alertLines(r.logs.String(), "admin-burst"); len(got) != 1 {
		t.Fatalf("admin-burst alerts: %v", got)
	}
	r.stop()
	if events := raisedEvents(t, dir); len(events) != 1 || !strings.Contains(events[0], `"rule":"admin-burst"`) {
		t.Fatalf("alert.raised events: %v", events)
	}
}

// readiness returns /readyz's status and the names of its failing
// checks.
func readiness(t *testing.T, r *running) (int, []string) {
	t.Helper()
	res := r.do("GET", "/readyz", "", nil)
	if res.status == http.StatusOK {
		return res.status, nil
	}
	var p struct{ Detail string }
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("readyz %d %s: %v", res.status, res.body, err)
	}
	failing, ok := strings.CutPrefix(p.Detail, "not ready: ")
	if !ok {
		t.Fatalf("readyz %d %s", res.status, res.body)
	}
	return res.status, strings.Fields(failing)
}

// TestAlertAuditLogFailing: while the audit log cannot record, an
// audited action is refused (fail closed), the audit-append alert is
// logged although it cannot itself be recorded, and /readyz reports
// audit logging unhealthy until an append succeeds again.
func TestAlertAuditLogFailing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Blind Corp"})
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tenant struct{ ID string }
	if err := json.Unmarshal(res.body, &tenant); err != nil {
		t.Fatal(err)
	}
	if status, failing := readiness(t, r); status != http.StatusOK {
		t.Fatalf("readyz %d %v", status, failing)
	}
	release := lockAudit(t, dir)
	createKey := func() resp {
		return r.do("POST", "/v1/tenants/"+tenant.ID+"/api-keys", admin, map[string]any{"name": "k", "roles": []string{"sender"}})
	}
	if res := createKey(); res.status != http.StatusServiceUnavailable {
		t.Fatalf("an API key created while the audit log cannot record: %d %s", res.status, res.body)
	}
	if got := alertLines(r.logs.String(), "audit-append"); len(got) != 1 {
		t.Fatalf("audit-append alerts: %v", got)
	}
	if !strings.Contains(r.logs.String(), "could not be recorded in the audit log") {
		t.Error("the alert's own recording failure is not logged")
	}
	status, failing := readiness(t, r)
	if status != http.StatusServiceUnavailable || !slices.Contains(failing, "audit-health") {
		t.Fatalf("readyz while the log fails: %d %v", status, failing)
	}
	if !strings.Contains(r.logs.String(), "the last append failed") {
		t.Error("the readiness log does not say why audit logging is unhealthy")
	}
	release()
	// The log accepts writes again, but no append proved it yet.
	status, failing = readiness(t, r)
	if status != http.StatusServiceUnavailable || !slices.Equal(failing, []string{"audit-health"}) {
		t.Fatalf("readyz after release: %d %v", status, failing)
	}
	if res := createKey(); res.status != http.StatusCreated {
		t.Fatalf("create key after release: %d %s", res.status, res.body)
	}
	if status, failing := readiness(t, r); status != http.StatusOK {
		t.Fatalf("readyz after a successful append: %d %v", status, failing)
	}
}

// TestAlertCheckpointsAndCertificates: an idle log whose latest
// checkpoint's own anchoring appended events is not late however old the
// checkpoint; a certificate in use past its renewal point (the renewer
// has not run since) raises certificate-renewal-due, once.
func TestAlertCheckpointsAndCertificates(t *testing.T) {
	ctx := context.Background()
	clk := &movedClock{}
	r := start(t, filepath.Join(t.TempDir(), "data"), nil, server.WithClock(clk.Now))
	if res := r.do("POST", "/v1/tenants", r.bootstrapKey(), map[string]string{"name": "Idle Corp"}); res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Now().Add(2 * time.Hour))
	r.srv.CheckAlerts(ctx)
	if got := alertLines(r.logs.String(), "audit-anchoring"); len(got) != 0 {
		t.Fatalf("an idle log alerted: %v", got)
	}
	if status, failing := readiness(t, r); status != http.StatusOK {
		t.Fatalf("readyz of an idle log: %d %v", status, failing)
	}
	if got := alertLines(r.logs.String(), "certificate-renewal-due"); len(got) != 0 {
		t.Fatalf("fresh certificates alerted: %v", got)
	}
	tsaCert := r.srv.PKICert("tsa")
	clk.Set(tsaCert.NotAfter.Add(-24 * time.Hour))
	r.srv.CheckAlerts(ctx)
	r.srv.CheckAlerts(ctx)
	lines := alertLines(r.logs.String(), "certificate-renewal-due")
	if len(lines) != 1 || !strings.Contains(lines[0], `"certificate":"tsa"`) || !strings.Contains(lines[0], tsaCert.SerialNumber.Text(16)) {
		t.Fatalf("certificate alerts: %v", lines)
	}
}

// wrongCodes has the recipient at email (whose link is the first e-mail
// sent to it) ask for a code and enter n wrong ones, calling before(i)
// before the (i+1)th; it returns the right code.
func (r *running) wrongCodes(ctx context.Context, email string, n int, before func(i int)) string {
	r.t.Helper()
	c := &apiclient.Client{Base: r.base, HTTP: r.client}
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, email, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	rc := c.Recipient(link)
	if err := rc.SendCode(ctx); err != nil {
		r.t.Fatal(err)
	}
	code, err := mb.Code(ctx, email, 2)
	if err != nil {
		r.t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < n; i++ {
		if before != nil {
			before(i)
		}
		if _, err := rc.Verify(ctx, wrong); err == nil {
			r.t.Fatal("a wrong code was accepted")
		}
	}
	return code
}

// lockAudit holds an exclusive lock on the data directory's audit log
// until release is called (or the test ends): its appends fail.
func lockAudit(t *testing.T, dir string) (release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}
