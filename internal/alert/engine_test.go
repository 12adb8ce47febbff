package alert_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/alert"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sinkRec collects delivered alerts.
type sinkRec struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (s *sinkRec) Deliver(_ context.Context, a alert.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
	return nil
}

func (s *sinkRec) rules() []alert.Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alert.Rule
	for _, a := range s.alerts {
		out = append(out, a.Rule)
	}
	return out
}

// fixture is an engine over a real in-memory audit log, whose appends it
// observes and into which it records its alerts.
type fixture struct {
	t      *testing.T
	clock  *clock
	engine *alert.Engine
	log    *auditlog.Log
	store  *auditlog.MemStore
	sink   *sinkRec
	logs   *bytes.Buffer
}

// monday10 is Monday 2026-01-05 10:00 UTC.
var monday10 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, rules alert.Rules) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, clock: &clock{t: monday10}, store: auditlog.NewMemStore(), sink: &sinkRec{}, logs: &bytes.Buffer{}}
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.log, err = auditlog.New(ctx, auditlog.Config{Storage: f.store, Keys: keys, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Shutdown(context.Background()) })
	f.engine, err = alert.New(alert.Config{Rules: rules, Recorder: f.log, Sinks: []alert.Sink{f.sink},
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)), Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	f.log.SetObserver(f.engine.ObserveAppend)
	return f
}

// record appends ev to the log, as a service would.
func (f *fixture) record(ev auditlog.Event) {
	f.t.Helper()
	if ev.Outcome == "" {
		ev.Outcome = auditlog.OutcomeSuccess
	}
	if err := f.log.Record(context.Background(), ev); err != nil {
		f.t.Fatal(err)
	}
}

// raised returns how many alerts of rule were delivered.
func (f *fixture) raised(rule alert.Rule) int {
	n := 0
	for _, r := range f.sink.rules() {
		if r == rule {
			n++
		}
	}
	return n
}

// recorded returns the alert.raised events in the log.
func (f *fixture) recorded() []auditlog.Record {
	f.t.Helper()
	ctx := context.Background()
	size, err := f.store.Size(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	recs, err := f.store.Records(ctx, 0, size)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []auditlog.Record
	for _, r := range recs {
		if r.Type == string(auditlog.AlertRaised) {
			out = append(out, r)
		}
	}
	return out
}

func user(id string) auditlog.Actor { return auditlog.Actor{Kind: auditlog.ActorUser, ID: id} }

func req(ip, ua string) auditlog.Request { return auditlog.Request{IP: ip, UserAgent: ua} }

// TestEventRules provokes each event rule with synthetic events: the
// rule fires at its threshold and not one event below it.
func TestEventRules(t *testing.T) {
	small := alert.Threshold{Count: 3, Window: time.Minute}
	rules := alert.Rules{
		SignatureFailures: small, AdminChanges: small, BulkFromNew: alert.Threshold{Count: 3, Window: time.Hour},
		AuthFailuresRecipient: small, AuthFailuresIP: alert.Threshold{Count: 4, Window: time.Minute},
		AuthFailuresTenant: alert.Threshold{Count: 5, Window: time.Minute},
	}
	recipientFail := func(recipient, ip string) auditlog.Event {
		return auditlog.Event{Type: auditlog.RecipientAuthenticated, Tenant: "acme", Outcome: auditlog.OutcomeFailure,
			Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: recipient}, Request: req(ip, "")}
	}
	tests := []struct {
		name string
		rule alert.Rule
		// setup runs before; events are recorded one minute apart... at
		// the given step; the rule must fire exactly after the last.
		setup  func(f *fixture)
		events []auditlog.Event
		step   time.Duration
	}{
		{name: "failed signatures", rule: alert.RuleSignatureFailures, step: time.Second, events: []auditlog.Event{
			{Type: auditlog.SignatureCreated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r1"}, Outcome: auditlog.OutcomeFailure},
			{Type: auditlog.KeyUsed, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorSystem}, Outcome: auditlog.OutcomeFailure, Details: map[string]string{"operation": "sign"}},
			{Type: auditlog.SignatureCreated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r2"}, Outcome: auditlog.OutcomeDenied},
		}},
		{name: "admin burst", rule: alert.RuleAdminBurst, step: 10 * time.Second, events: []auditlog.Event{
			{Type: auditlog.RoleGranted, Tenant: "acme", Actor: user("u-admin")},
			{Type: auditlog.APIKeyCreated, Tenant: "acme", Actor: user("u-admin")},
			{Type: auditlog.KeyRotated, Tenant: "acme", Actor: user("u-admin")},
		}},
		{name: "recipient authentication failures", rule: alert.RuleAuthFailures, step: time.Second, events: []auditlog.Event{
			recipientFail("r1", "192.0.2.1"), recipientFail("r1", "192.0.2.2"), recipientFail("r1", "192.0.2.3"),
		}},
		{name: "authentication failures from one address", rule: alert.RuleAuthFailures, step: time.Second, events: []auditlog.Event{
			recipientFail("r1", "198.51.100.7"), recipientFail("r2", "198.51.100.7"),
			{Type: auditlog.UserLoginFailed, Tenant: "other", Actor: user("u1"), Outcome: auditlog.OutcomeFailure, Request: req("198.51.100.7", "")},
			{Type: auditlog.UserLoginFailed, Tenant: "third", Actor: user("u2"), Outcome: auditlog.OutcomeFailure, Request: req("198.51.100.7", "")},
		}},
		{name: "authentication failures in a tenant", rule: alert.RuleAuthFailures, step: time.Second, events: []auditlog.Event{
			recipientFail("r1", "192.0.2.1"), recipientFail("r2", "192.0.2.2"), recipientFail("r3", "192.0.2.3"),
			{Type: auditlog.UserLoginFailed, Tenant: "acme", Actor: user("u1"), Outcome: auditlog.OutcomeFailure, Request: req("192.0.2.4", "")},
			recipientFail("r4", "192.0.2.5"),
		}},
		{name: "bulk downloads from a new network", rule: alert.RuleNewNetwork, step: time.Minute,
			setup: func(f *fixture) {
				for i := 0; i < 5; i++ {
					f.record(auditlog.Event{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("192.0.2.10", "curl/8")})
					f.clock.add(2 * time.Hour)
				}
			},
			events: []auditlog.Event{
				{Type: auditlog.UserLoggedIn, Tenant: "acme", Actor: user("u1"), Request: req("203.0.113.5", "curl/8")},
				{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("203.0.113.5", "curl/8")},
				{Type: auditlog.AuditExported, Tenant: "acme", Actor: user("u1"), Request: req("203.0.113.9", "curl/8")},
				{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("203.0.113.77", "curl/8")},
			}},
		{name: "bulk downloads from a new client", rule: alert.RuleNewNetwork, step: time.Minute,
			setup: func(f *fixture) {
				f.record(auditlog.Event{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("192.0.2.10", "browser/1")})
				f.clock.add(2 * time.Hour)
			},
			events: []auditlog.Event{
				{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("192.0.2.11", "scraper/9")},
				{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("192.0.2.12", "scraper/9")},
				{Type: auditlog.DocumentDownloaded, Tenant: "acme", Actor: user("u1"), Request: req("192.0.2.13", "scraper/9")},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, rules)
			if tc.setup != nil {
				tc.setup(f)
			}
			for i, ev := range tc.events {
				if n := f.raised(tc.rule); n != 0 {
					t.Fatalf("%s raised after %d of %d events", tc.rule, i, len(tc.events))
				}
				f.record(ev)
				f.clock.add(tc.step)
			}
			if n := f.raised(tc.rule); n != 1 {
				t.Fatalf("%s raised %d times after the threshold; sink got %v", tc.rule, n, f.sink.rules())
			}
			if n := f.engine.Counts()[alert.CountKey{Rule: tc.rule, Severity: f.sink.alerts[0].Severity}]; n != 1 {
				t.Errorf("count of %s = %d", tc.rule, n)
			}
			recs := f.recorded()
			if len(recs) != 1 || !strings.Contains(string(recs[0].Leaf), `"rule":"`+string(tc.rule)+`"`) {
				t.Fatalf("alert.raised events: %d %v", len(recs), recs)
			}
			if !strings.Contains(f.logs.String(), "ALERT: "+string(tc.rule)) {
				t.Errorf("log lacks the alert: %s", f.logs)
			}
			// No client address or network reaches the log, the sink or
			// the leaf.
			for _, secret := range []string{"198.51.100.7", "203.0.113", "192.0.2."} {
				if strings.Contains(f.logs.String(), secret) || strings.Contains(string(recs[0].Leaf), secret) {
					t.Errorf("%s leaked in the log or leaf: %s %s", secret, f.logs, recs[0].Leaf)
				}
				for _, a := range f.sink.alerts {
					if len(a.Sensitive) > 0 || strings.Contains(a.Summary+a.Subject, secret) {
						t.Errorf("sink got sensitive values: %+v", a)
					}
				}
			}
		})
	}
}

// TestEventRulesBelowThreshold: the same events spread beyond the window,
// or from other subjects, raise nothing.
func TestEventRulesBelowThreshold(t *testing.T) {
	rules := alert.Rules{SignatureFailures: alert.Threshold{Count: 3, Window: time.Minute},
		AdminChanges: alert.Threshold{Count: 3, Window: time.Minute}, AuthFailuresRecipient: alert.Threshold{Count: 3, Window: time.Minute},
		AuthFailuresTenant: alert.Threshold{Count: 100, Window: time.Minute}}
	f := newFixture(t, rules)
	for i := 0; i < 10; i++ {
		// Spread: one per 40 s, so never 3 within a minute.
		f.record(auditlog.Event{Type: auditlog.SignatureCreated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r"}, Outcome: auditlog.OutcomeFailure})
		f.record(auditlog.Event{Type: auditlog.RoleGranted, Tenant: "acme", Actor: user("u-admin")})
		f.record(auditlog.Event{Type: auditlog.RecipientAuthenticated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r"}, Outcome: auditlog.OutcomeFailure})
		// Other subjects: different tenants, different admins.
		f.record(auditlog.Event{Type: auditlog.SignatureCreated, Tenant: "t" + strconv.Itoa(i), Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r"}, Outcome: auditlog.OutcomeFailure})
		f.record(auditlog.Event{Type: auditlog.RoleGranted, Tenant: "acme", Actor: user("u" + strconv.Itoa(i))})
		// Successes and key uses do not count as failures; system key
		// changes are no principal's.
		f.record(auditlog.Event{Type: auditlog.SignatureCreated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r"}})
		f.record(auditlog.Event{Type: auditlog.KeyCreated, Tenant: "acme", Actor: auditlog.Actor{Kind: auditlog.ActorSystem}})
		f.clock.add(40 * time.Second)
	}
	if got := f.sink.rules(); len(got) != 0 {
		t.Fatalf("alerts below threshold: %v", got)
	}
}

// TestUnusualHours: a principal that always acts on weekday mornings is
// flagged for a privileged action on Sunday at 03:00, but not before its
// profile holds enough history, and not at its usual hours.
func TestUnusualHours(t *testing.T) {
	f := newFixture(t, alert.Rules{UnusualHoursMinHistory: 20, UnusualHoursMaxShare: 0.05, AdminChanges: alert.Threshold{Count: -1}})
	grant := auditlog.Event{Type: auditlog.RoleGranted, Tenant: "acme", Actor: user("u-admin")}
	at := func(t time.Time) {
		f.clock.mu.Lock()
		f.clock.t = t
		f.clock.mu.Unlock()
		f.record(grant)
	}
	sunday3 := time.Date(2026, 1, 11, 3, 0, 0, 0, time.UTC)
	// Too little history: a first action at night is not judged.
	at(sunday3.AddDate(0, 0, -7))
	if n := f.raised(alert.RuleUnusualHours); n != 0 {
		t.Fatalf("judged without history: %d", n)
	}
	for week := 0; week < 4; week++ {
		for day := 0; day < 5; day++ {
			at(monday10.AddDate(0, 0, 7*week+day).Add(time.Duration(day) * 10 * time.Minute))
		}
	}
	if n := f.raised(alert.RuleUnusualHours); n != 0 {
		t.Fatalf("usual hours flagged: %d", n)
	}
	// Eleven o'clock is next to ten: usual.
	at(monday10.AddDate(0, 0, 28).Add(time.Hour))
	if n := f.raised(alert.RuleUnusualHours); n != 0 {
		t.Fatalf("a neighbouring hour flagged: %d", n)
	}
	at(sunday3.AddDate(0, 0, 28))
	if n := f.raised(alert.RuleUnusualHours); n != 1 {
		t.Fatalf("Sunday 03:00 raised %d alerts", n)
	}
	// Another principal with no history at that hour is not judged.
	f.record(auditlog.Event{Type: auditlog.RoleGranted, Tenant: "acme", Actor: user("u-new")})
	if n := f.raised(alert.RuleUnusualHours); n != 1 {
		t.Fatalf("a principal without history judged: %d", n)
	}
}

// TestDeduplication: a rule and subject alert once per window, again
// after it, and another subject alerts separately.
func TestDeduplication(t *testing.T) {
	f := newFixture(t, alert.Rules{DedupWindow: time.Hour, AdminChanges: alert.Threshold{Count: 2, Window: time.Minute}})
	burst := func(admin string) {
		for i := 0; i < 5; i++ {
			f.record(auditlog.Event{Type: auditlog.RoleRevoked, Tenant: "acme", Actor: user(admin)})
			f.clock.add(time.Second)
		}
	}
	burst("a")
	burst("a")
	if n := f.raised(alert.RuleAdminBurst); n != 1 {
		t.Fatalf("within the window: %d alerts", n)
	}
	burst("b")
	if n := f.raised(alert.RuleAdminBurst); n != 2 {
		t.Fatalf("another subject: %d alerts", n)
	}
	f.clock.add(time.Hour)
	burst("a")
	if n := f.raised(alert.RuleAdminBurst); n != 3 {
		t.Fatalf("after the window: %d alerts", n)
	}
	if n := f.engine.Counts()[alert.CountKey{Rule: alert.RuleAdminBurst, Severity: alert.Critical}]; n != 3 {
		t.Errorf("count %d", n)
	}
}

// TestAuthorityUnreachable: N consecutive failures of one URL, or M
// failures in a window among successes, raise; a success resets the
// consecutive count; other URLs are separate.
func TestAuthorityUnreachable(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("connection refused")
	tests := []struct {
		name    string
		results []error // one per call
		want    int
	}{
		{"two failures", []error{boom, boom}, 0},
		{"three in a row", []error{boom, boom, boom}, 1},
		{"interrupted by successes", []error{boom, boom, nil, boom, boom, nil}, 0},
		{"many within the window", []error{boom, boom, nil, boom, nil, boom, nil, boom, boom}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alert.Rules{AuthorityConsecutive: 3, AuthorityFailures: alert.Threshold{Count: 6, Window: time.Hour}})
			for _, err := range tc.results {
				f.engine.AuthorityResult(ctx, "tsa", "https://tsa.example/tsr", err)
				f.engine.AuthorityResult(ctx, "ocsp", "http://ocsp.example/", nil)
				f.clock.add(time.Minute)
			}
			if n := f.raised(alert.RuleAuthorityUnreachable); n != tc.want {
				t.Fatalf("%d alerts, want %d", n, tc.want)
			}
		})
	}
}

// TestCertificateRenewal: each certificate within its margin alerts
// once (critical once expired).
func TestCertificateRenewal(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, alert.Rules{})
	due := []alert.Certificate{{Name: "tsa", Serial: "0a", NotAfter: monday10.Add(48 * time.Hour)}, {Name: "ocsp/acme", Serial: "0b", NotAfter: monday10.Add(-time.Hour)}}
	f.engine.CheckCertificates(ctx, nil)
	if n := f.raised(alert.RuleCertificateRenewal); n != 0 {
		t.Fatalf("nothing due: %d", n)
	}
	f.engine.CheckCertificates(ctx, due)
	f.engine.CheckCertificates(ctx, due)
	if n := f.raised(alert.RuleCertificateRenewal); n != 2 {
		t.Fatalf("%d alerts, want 2", n)
	}
	c := f.engine.Counts()
	if c[alert.CountKey{Rule: alert.RuleCertificateRenewal, Severity: alert.Warning}] != 1 || c[alert.CountKey{Rule: alert.RuleCertificateRenewal, Severity: alert.Critical}] != 1 {
		t.Errorf("counts %v", c)
	}
}
