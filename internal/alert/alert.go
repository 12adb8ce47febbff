package alert

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A Rule names an alert rule.
type Rule string

// The rules.
const (
	RuleSignatureFailures    Rule = "signature-failures"
	RuleAuthorityUnreachable Rule = "authority-unreachable"
	RuleCertificateRenewal   Rule = "certificate-renewal-due"
	RuleAdminBurst           Rule = "admin-burst"
	RuleUnusualHours         Rule = "unusual-hours"
	RuleNewNetwork           Rule = "bulk-from-new-network"
	RuleAuthFailures         Rule = "authentication-failures"
	RuleAuditAppend          Rule = "audit-append"
	RuleAuditAnchoring       Rule = "audit-anchoring"
)

// A Severity says how urgent an alert is.
type Severity string

// Severities.
const (
	// Warning: someone should look today.
	Warning Severity = "warning"
	// Critical: someone should look now.
	Critical Severity = "critical"
)

// An Alert is one raised alert.
type Alert struct {
	Rule     Rule
	Severity Severity
	// Time is when it was raised.
	Time time.Time
	// Tenant is the tenant it concerns, "" for the platform.
	Tenant string
	// Subject names what it concerns: a principal, recipient or key id,
	// an authority URL, a certificate name. Never a secret.
	Subject string
	// Summary says in one sentence what happened.
	Summary string
	// Details are further non-sensitive attributes (counts, windows).
	Details map[string]string
	// Sensitive are values that identify people or their devices (a
	// client IP, a network): recorded only as the alert.raised event's
	// sensitive attributes, never logged nor delivered.
	Sensitive map[string]string
}

// A Sink receives raised alerts (the platform's or the tenant's webhook
// endpoints). Deliver MUST NOT block for long: the engine calls it in
// the goroutine that raised the alert, with a deadline. A Sink MUST NOT
// expect [Alert.Sensitive]: the engine clears it before delivery.
type Sink interface {
	Deliver(ctx context.Context, a Alert) error
}

// A Threshold fires when Count occurrences fall within Window. A
// negative Count turns its rule off; zero fields take the rule's
// default.
type Threshold struct {
	Count  int
	Window time.Duration
}

// Rules are the rules' thresholds; zero fields take the defaults of
// [DefaultRules].
type Rules struct {
	// DedupWindow: the same rule and subject alert at most once in it.
	DedupWindow time.Duration
	// SignatureFailures per tenant.
	SignatureFailures Threshold
	// AuthorityFailures per TSA or OCSP URL in a window, and
	// AuthorityConsecutive failures in a row (negative: off).
	AuthorityFailures    Threshold
	AuthorityConsecutive int
	// AdminChanges per principal: key.*, role.granted/revoked,
	// admin.policy_changed, apikey.* changes.
	AdminChanges Threshold
	// UnusualHoursMinHistory is the number of privileged actions a
	// principal's profile needs before it judges (negative: off);
	// UnusualHoursMaxShare the share of the history below which an hour
	// is unusual.
	UnusualHoursMinHistory int
	UnusualHoursMaxShare   float64
	// BulkFromNew: downloads, exports or signatures by a principal from
	// a network or client it first used within Window.
	BulkFromNew Threshold
	// AuthFailures per recipient, per client IP and per tenant.
	AuthFailuresRecipient Threshold
	AuthFailuresIP        Threshold
	AuthFailuresTenant    Threshold
	// AuditStall is how long appends may be pending with none
	// succeeding, and how long a failed append keeps the log unhealthy
	// without a later success.
	AuditStall time.Duration
	// CheckpointAge is how old the latest checkpoint of a grown log may
	// be, and how long an anchoring failure keeps the log unhealthy
	// without a later anchored checkpoint.
	CheckpointAge time.Duration
	// MaxTracked bounds each table of the engine (counters per subject,
	// principals' profiles, de-duplication).
	MaxTracked int
}

// DefaultRules are the thresholds used for zero fields of [Rules].
var DefaultRules = Rules{
	DedupWindow:            time.Hour,
	SignatureFailures:      Threshold{5, 10 * time.Minute},
	AuthorityFailures:      Threshold{5, 10 * time.Minute},
	AuthorityConsecutive:   3,
	AdminChanges:           Threshold{10, 5 * time.Minute},
	UnusualHoursMinHistory: 50,
	UnusualHoursMaxShare:   0.01,
	BulkFromNew:            Threshold{20, time.Hour},
	AuthFailuresRecipient:  Threshold{5, 15 * time.Minute},
	AuthFailuresIP:         Threshold{20, 5 * time.Minute},
	AuthFailuresTenant:     Threshold{100, 5 * time.Minute},
	AuditStall:             30 * time.Second,
	CheckpointAge:          10 * time.Minute,
	MaxTracked:             10000,
}

// maxCount bounds a threshold's count: the engine keeps that many times
// per subject.
const maxCount = 10000

// withDefaults returns r with zero fields set from [DefaultRules].
func (r Rules) withDefaults() Rules {
	d := DefaultRules
	dur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	th := func(v *Threshold, def Threshold) {
		if v.Count == 0 {
			v.Count = def.Count
		}
		dur(&v.Window, def.Window)
	}
	dur(&r.DedupWindow, d.DedupWindow)
	th(&r.SignatureFailures, d.SignatureFailures)
	th(&r.AuthorityFailures, d.AuthorityFailures)
	if r.AuthorityConsecutive == 0 {
		r.AuthorityConsecutive = d.AuthorityConsecutive
	}
	th(&r.AdminChanges, d.AdminChanges)
	if r.UnusualHoursMinHistory == 0 {
		r.UnusualHoursMinHistory = d.UnusualHoursMinHistory
	}
	if r.UnusualHoursMaxShare == 0 {
		r.UnusualHoursMaxShare = d.UnusualHoursMaxShare
	}
	th(&r.BulkFromNew, d.BulkFromNew)
	th(&r.AuthFailuresRecipient, d.AuthFailuresRecipient)
	th(&r.AuthFailuresIP, d.AuthFailuresIP)
	th(&r.AuthFailuresTenant, d.AuthFailuresTenant)
	dur(&r.AuditStall, d.AuditStall)
	dur(&r.CheckpointAge, d.CheckpointAge)
	if r.MaxTracked == 0 {
		r.MaxTracked = d.MaxTracked
	}
	return r
}

// Validate reports whether r (after defaults) is usable.
func (r Rules) Validate() error {
	r = r.withDefaults()
	for name, t := range map[string]Threshold{
		"signature_failures": r.SignatureFailures, "authority_failures": r.AuthorityFailures,
		"admin_changes": r.AdminChanges, "bulk_from_new_network": r.BulkFromNew,
		"auth_failures_recipient": r.AuthFailuresRecipient, "auth_failures_ip": r.AuthFailuresIP,
		"auth_failures_tenant": r.AuthFailuresTenant,
	} {
		if t.Count > maxCount {
			return fmt.Errorf("alert: %s: count %d above %d", name, t.Count, maxCount)
		}
		if t.Window < 0 {
			return fmt.Errorf("alert: %s: negative window", name)
		}
	}
	if r.DedupWindow < 0 || r.AuditStall < 0 || r.CheckpointAge < 0 {
		return errors.New("alert: negative dedup window, audit stall or checkpoint age")
	}
	if r.UnusualHoursMaxShare < 0 || r.UnusualHoursMaxShare >= 1 {
		return fmt.Errorf("alert: unusual_hours max share %v not in [0, 1)", r.UnusualHoursMaxShare)
	}
	if r.MaxTracked < 0 || r.MaxTracked > 10_000_000 {
		return fmt.Errorf("alert: max_tracked %d not in [0, 10000000]", r.MaxTracked)
	}
	return nil
}
