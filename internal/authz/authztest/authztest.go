// Package authztest holds the expectations of Signet's authorization
// tests, written by hand and independently of internal/authz's own data,
// so that the tests of internal/authz and the router's matrix in
// internal/server compare decisions with one expectation, not with
// themselves. It holds plain strings: it does not import internal/authz.
package authztest

import (
	"slices"
	"strings"
)

// Roles is the action × built-in role table: each action with the
// built-in roles that hold it. docs/ARCHITECTURE.md shows the same table.
var Roles = map[string]string{
	"document.upload":   "sender",
	"document.read":     "sender approver auditor",
	"document.export":   "sender auditor",
	"envelope.prepare":  "sender",
	"envelope.read":     "sender approver auditor",
	"envelope.send":     "sender",
	"envelope.approve":  "approver",
	"envelope.void":     "sender",
	"envelope.sign":     "",
	"audit.read":        "auditor",
	"audit.export":      "auditor",
	"audit.configure":   "",
	"access.review":     "auditor tenant-admin",
	"key.admin":         "key-custodian",
	"user.admin":        "tenant-admin",
	"role.admin":        "tenant-admin",
	"policy.admin":      "tenant-admin",
	"webhook.admin":     "tenant-admin",
	"apikey.read":       "tenant-admin",
	"apikey.admin":      "tenant-admin",
	"tenant.admin":      "",
	"account.self":      "",
	"elevation.request": "",
}

// The lists below are space-separated, for [In].
const (
	// AlwaysStepUp are the actions that always need a recent strong
	// authentication.
	AlwaysStepUp = "key.admin audit.export user.admin role.admin apikey.admin"
	// FactStepUp are the actions that need it on a high-assurance
	// envelope or a bulk export.
	FactStepUp = "envelope.approve envelope.sign document.export"
	// Privileged are the built-in roles that hold a privileged action.
	Privileged = "key-custodian tenant-admin"
	// Self are the actions every user holds on their own account, with
	// or without a role; no service account, recipient or platform
	// administrator holds them.
	Self = "account.self elevation.request"
	// Recipient are the actions a recipient performs on its own envelope.
	Recipient = "envelope.read document.read envelope.sign"
)

// In reports whether word is one of the space-separated words of list.
func In(list, word string) bool { return slices.Contains(strings.Fields(list), word) }
