// Package alert evaluates the service's alert rules and raises alerts.
//
// An [Engine] watches what the service does: every audit event as it is
// appended (through its audit log observer, [Engine.ObserveAppend]), the
// results of requests to time-stamp authorities and OCSP responders
// ([Engine.AuthorityResult]), the certificates within their renewal
// margin ([Engine.CheckCertificates]) and the state of the log's
// checkpoints and anchors ([Engine.ObserveAnchoring]). It keeps bounded
// state in memory only (every table is an LRU of at most
// [Rules.MaxTracked] entries), starts no goroutine, and reads time only
// from its injected clock.
//
// # Rules
//
//   - [RuleSignatureFailures]: failed signatures (signature.created or
//     key.used of a sign operation with outcome failure or denied) per
//     tenant above a threshold in a window.
//   - [RuleAuthorityUnreachable]: a TSA or OCSP responder URL failing N
//     times in a row, or M times in a window.
//   - [RuleCertificateRenewal]: a PKI certificate (TSA, OCSP responder,
//     CA) still in use within its renewal margin: its renewal failed.
//   - [RuleAdminBurst]: many key, role, policy or API-key changes by one
//     principal in a short window.
//   - [RuleUnusualHours]: a privileged action at an hour of the week at
//     which that principal rarely acted (see Unusual hours).
//   - [RuleNewNetwork]: bulk downloads, exports or signatures by a
//     principal from a network (/24 or /48) or client (user agent) it
//     was first seen using within the window, after it had used others.
//   - [RuleAuthFailures]: spikes of authentication failures
//     (recipient.authenticated failed or denied, user.login_failed) per
//     recipient, per client IP and per tenant.
//   - [RuleAuditAppend]: audit appends failing, or stalled (appends
//     pending with none succeeding for longer than a threshold).
//   - [RuleAuditAnchoring]: checkpoints failing to be anchored, or no
//     checkpoint of a grown log for longer than a threshold.
//
// # Unusual hours
//
// Each principal (tenant and actor id) has an hour-of-week histogram of
// its privileged actions (168 UTC buckets). Once it holds at least
// [Rules.UnusualHoursMinHistory] actions, an action whose hour, with the
// hour before and the hour after, holds less than
// [Rules.UnusualHoursMaxShare] of the history is unusual. Every action is
// then added to the histogram (so a new routine stops alerting), and the
// buckets are halved when one grows large (old habits fade).
//
// # Raising
//
// An alert is raised at most once per rule and subject in
// [Rules.DedupWindow]. It is counted ([Engine.Counts]), recorded in the
// audit log as an alert.raised event (actor system; tenant set when the
// alert concerns one; details rule, severity, subject; clear values such
// as client IPs only as the event's sensitive attributes), logged at
// error level as "ALERT: <rule>" (without sensitive values), and
// delivered to every [Sink]. An alert that cannot be recorded is still
// logged, counted and delivered.
package alert
