package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/auditlog"
)

// adminChange reports whether t changes keys, roles, the policy or API
// keys.
func adminChange(t auditlog.EventType) bool {
	switch t {
	case auditlog.RoleGranted, auditlog.RoleRevoked, auditlog.AdminPolicyChanged:
		return true
	case auditlog.KeyUsed:
		return false
	}
	s := string(t)
	return strings.HasPrefix(s, "key.") || (strings.HasPrefix(s, "apikey.") && t != auditlog.APIKeyRefused && t != auditlog.APIKeyTokenIssued)
}

// privileged reports whether t is a privileged action, judged by the
// unusual-hours rule.
func privileged(t auditlog.EventType) bool {
	switch t {
	case auditlog.AdminElevated, auditlog.AccessGranted, auditlog.AccessBreakGlass, auditlog.UserCreated, auditlog.UserDisabled,
		auditlog.TenantCreated, auditlog.TenantDeleted, auditlog.AuditExported, auditlog.ElevationRequested:
		return true
	}
	return adminChange(t)
}

// bulk reports whether t is one of the actions the new-network rule
// counts: downloads, exports, signatures.
func bulk(t auditlog.EventType) bool {
	switch t {
	case auditlog.DocumentDownloaded, auditlog.AuditExported, auditlog.SignatureCreated:
		return true
	}
	return false
}

// failed reports whether ev's outcome is a failure or a denial.
func failed(ev auditlog.Event) bool {
	return ev.Outcome == auditlog.OutcomeFailure || ev.Outcome == auditlog.OutcomeDenied
}

// Observe evaluates the event rules over ev, an event just recorded.
// ev's sensitive values are used in memory only.
func (e *Engine) Observe(ctx context.Context, ev auditlog.Event) {
	if ev.Type == auditlog.AlertRaised {
		return
	}
	now := e.now()
	var alerts []Alert
	principal := ev.Actor.Kind == auditlog.ActorUser || ev.Actor.Kind == auditlog.ActorService
	who := ev.Tenant + "\x00" + string(ev.Actor.Kind) + "\x00" + ev.Actor.ID
	e.mu.Lock()
	// Failed signatures, per tenant.
	if failed(ev) && (ev.Type == auditlog.SignatureCreated || (ev.Type == auditlog.KeyUsed && ev.Details["operation"] == "sign")) {
		if e.signatures.add(ev.Tenant, now) {
			t := e.rules.SignatureFailures
			alerts = append(alerts, Alert{Rule: RuleSignatureFailures, Severity: Warning, Tenant: ev.Tenant, Subject: "tenant " + ev.Tenant,
				Summary: fmt.Sprintf("%d failed signatures within %v", t.Count, t.Window), Details: threshold(t)})
		}
	}
	// Authentication failures, per recipient, IP and tenant.
	if failed(ev) && (ev.Type == auditlog.RecipientAuthenticated || ev.Type == auditlog.UserLoginFailed) {
		if ev.Type == auditlog.RecipientAuthenticated && ev.Actor.ID != "" && e.authRecipient.add(who, now) {
			t := e.rules.AuthFailuresRecipient
			alerts = append(alerts, Alert{Rule: RuleAuthFailures, Severity: Warning, Tenant: ev.Tenant, Subject: "recipient " + ev.Actor.ID,
				Summary: fmt.Sprintf("%d authentication failures of one recipient within %v", t.Count, t.Window),
				Details: with(threshold(t), "scope", "recipient", "envelope_id", ev.Subject.EnvelopeID)})
		}
		if ip := ev.Request.IP; ip != "" && e.authIP.add(ip, now) {
			t := e.rules.AuthFailuresIP
			alerts = append(alerts, Alert{Rule: RuleAuthFailures, Severity: Warning, Subject: "client address",
				Summary:   fmt.Sprintf("%d authentication failures from one client address within %v", t.Count, t.Window),
				Details:   with(threshold(t), "scope", "ip"),
				Sensitive: map[string]string{"ip": ip}})
		}
		if ev.Tenant != "" && e.authTenant.add(ev.Tenant, now) {
			t := e.rules.AuthFailuresTenant
			alerts = append(alerts, Alert{Rule: RuleAuthFailures, Severity: Critical, Tenant: ev.Tenant, Subject: "tenant " + ev.Tenant,
				Summary: fmt.Sprintf("%d authentication failures in the tenant within %v", t.Count, t.Window),
				Details: with(threshold(t), "scope", "tenant")})
		}
	}
	if principal && ev.Actor.ID != "" {
		alerts = append(alerts, e.observePrincipal(ev, who)...)
	}
	e.mu.Unlock()
	e.raise(ctx, alerts...)
}

// observePrincipal runs the rules about one user or service account's
// habits, with e.mu held.
func (e *Engine) observePrincipal(ev auditlog.Event, who string) []Alert {
	now := e.now()
	var alerts []Alert
	subject := string(ev.Actor.Kind) + " " + ev.Actor.ID
	success := ev.Outcome == auditlog.OutcomeSuccess
	if success && adminChange(ev.Type) && e.admin.add(who, now) {
		t := e.rules.AdminChanges
		alerts = append(alerts, Alert{Rule: RuleAdminBurst, Severity: Critical, Tenant: ev.Tenant, Subject: subject,
			Summary: fmt.Sprintf("%d key, role, policy or API-key changes by one principal within %v", t.Count, t.Window),
			Details: with(threshold(t), "last_type", string(ev.Type))})
	}
	p := e.profiles.getOr(who, newProfile)
	if success && privileged(ev.Type) {
		if p.unusual(now, e.rules.UnusualHoursMinHistory, e.rules.UnusualHoursMaxShare) {
			alerts = append(alerts, Alert{Rule: RuleUnusualHours, Severity: Warning, Tenant: ev.Tenant, Subject: subject,
				Summary: fmt.Sprintf("%s at an hour this principal rarely acts", ev.Type),
				Details: map[string]string{"type": string(ev.Type), "hour_of_week": strconv.Itoa(hourOfWeek(now)), "history": strconv.Itoa(p.total)}})
		}
		p.learnHour(now)
	}
	n, _ := network(ev.Request.IP)
	newNet, newClient := p.seen(n, ev.Request.UserAgent, now, e.rules.BulkFromNew.Window)
	if success && bulk(ev.Type) && (newNet || newClient) {
		var what, key string
		sensitive := map[string]string{}
		details := threshold(e.rules.BulkFromNew)
		if newNet {
			what, key = "network", "net "+n.String()
			sensitive["network"] = n.String()
		} else {
			what, key = "client", "ua "+strconv.FormatUint(clientID(ev.Request.UserAgent), 16)
			details["client"] = truncate(ev.Request.UserAgent, 128)
		}
		if e.bulk.add(who+"\x00"+key, now) {
			t := e.rules.BulkFromNew
			details["scope"] = what
			alerts = append(alerts, Alert{Rule: RuleNewNetwork, Severity: Critical, Tenant: ev.Tenant, Subject: subject,
				Summary:   fmt.Sprintf("%d downloads, exports or signatures within %v from a %s this principal never used before", t.Count, t.Window, what),
				Details:   details,
				Sensitive: sensitive})
		}
	}
	return alerts
}

// threshold describes t in an alert's details.
func threshold(t Threshold) map[string]string {
	return map[string]string{"threshold": strconv.Itoa(t.Count), "window": t.Window.String()}
}

// with adds key-value pairs to m (empty values are left out).
func with(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
