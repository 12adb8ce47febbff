// Package storetest is the conformance suite of [identity.Store]: every
// driver (internal/identity/sqlite, internal/identity/postgres) runs [Run]
// from a test named TestConformance.
package storetest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/recovery"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/secretscan"
)

// A DB is one fresh, empty database as the suite uses it.
type DB struct {
	// A and B are two stores over the database through separate pools or
	// connections: two nodes.
	A, B identity.Store
	// Holds reports whether any form of secret (secretscan.Forms) is
	// stored in the database at rest.
	Holds func(t *testing.T, secret string) bool
}

// Run runs the suite; open returns a new, empty database for each
// subtest. Times are given to the microsecond, the precision every driver
// keeps.
func Run(t *testing.T, open func(t *testing.T) DB) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, DB)
	}{
		{"Users", testUsers},
		{"TenantScoping", testTenantScoping},
		{"DisableUser", testDisableUser},
		{"TOTP", testTOTP},
		{"RecoveryCodes", testRecoveryCodes},
		{"Sessions", testSessions},
		{"SessionMethod", testSessionMethod},
		{"Grants", testGrants},
		{"Elevations", testElevations},
		{"TwoNodes", testTwoNodes},
		{"Races", testRaces},
		{"DisableRacesSessions", testDisableRacesSessions},
		{"NoClearSecrets", testNoClearSecrets},
		{"Limits", testLimits},
		{"Passkeys", testPasskeys},
		{"PasskeyCounter", testPasskeyCounter},
		{"PasskeyCounterRaces", testPasskeyCounterRaces},
		{"PasskeyLimits", testPasskeyLimits},
		{"Lockouts", testLockouts},
		{"Links", testLinks},
		{"LinkRaces", testLinkRaces},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
	for _, c := range adminTests {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// base is the suite's clock: a time with microseconds, in a zone other
// than UTC, so that drivers must keep the instant, not the text.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))

func user(tenant, id string) identity.User {
	return identity.User{
		ID: id, Tenant: tenant, Email: id + "@example.org", Name: "Name of " + id, Status: identity.StatusActive,
		CreatedAt: base, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", MFARequired: true,
	}
}

func mustCreate(t *testing.T, s identity.Store, us ...identity.User) {
	t.Helper()
	for _, u := range us {
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("create user %s: %v", u.ID, err)
		}
	}
}

func sameUser(a, b identity.User) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.Email == b.Email && a.Name == b.Name && a.Status == b.Status &&
		a.CreatedAt.Equal(b.CreatedAt) && a.DisabledAt.Equal(b.DisabledAt) && a.PasswordHash == b.PasswordHash &&
		a.MFARequired == b.MFARequired
}

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func session(tenant, userID, token string, at time.Time) identity.Session {
	return identity.Session{
		Hash: hash(token), UserID: userID, Tenant: tenant, CreatedAt: at, LastSeen: at, ExpiresAt: at.Add(12 * time.Hour),
		IdleTimeout: 30 * time.Minute, CSRFHash: hash("csrf of " + token),
	}
}

func sameSession(a, b identity.Session) bool {
	return a.Hash == b.Hash && a.UserID == b.UserID && a.Tenant == b.Tenant && a.CreatedAt.Equal(b.CreatedAt) &&
		a.LastSeen.Equal(b.LastSeen) && a.ExpiresAt.Equal(b.ExpiresAt) && a.IdleTimeout == b.IdleTimeout &&
		a.StrongAuthMethod == b.StrongAuthMethod && a.StrongAuthAt.Equal(b.StrongAuthAt) && a.CSRFHash == b.CSRFHash &&
		a.Method == b.Method && a.Provider == b.Provider && slices.Equal(a.AMR, b.AMR) && a.ACR == b.ACR &&
		a.AuthTime.Equal(b.AuthTime)
}

func elevation(tenant, id, by string, at time.Time) identity.Elevation {
	return identity.Elevation{
		ID: id, Tenant: tenant, Role: "key-custodian", RequestedBy: by, Reason: "rotate the signing key, ticket 42",
		Duration: 2 * time.Hour, RequestedAt: at, Status: identity.ElevationPending,
	}
}

func approval(e identity.Elevation, grantID, approver string, at time.Time) identity.Grant {
	return identity.Grant{
		ID: grantID, Tenant: e.Tenant, UserID: e.RequestedBy, Role: e.Role, GrantedBy: approver, GrantedAt: at,
		NotBefore: at, NotAfter: at.Add(e.Duration), ElevationID: e.ID,
	}
}

// is fails the test unless err matches want (nil for success).
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func testUsers(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	ann := user("t-1", "u-ann")
	ann.Name = "Ann Ünïcode 'quoted'"
	mustCreate(t, s, ann)
	got, err := s.UserByID(ctx, "t-1", "u-ann")
	if err != nil || !sameUser(got, ann) {
		t.Fatalf("user by id: %+v, %v; want %+v", got, err, ann)
	}
	// The lookup by e-mail normalizes the address.
	if got, err := s.UserByEmail(ctx, "t-1", "  U-ANN@Example.ORG "); err != nil || !sameUser(got, ann) {
		t.Fatalf("user by e-mail: %+v, %v", got, err)
	}
	for _, c := range []struct {
		name string
		u    func() identity.User
		want error
	}{
		{"same id", func() identity.User { u := user("t-1", "u-ann"); u.Email = "other@example.org"; return u }, identity.ErrExists},
		{"same e-mail", func() identity.User { u := user("t-1", "u-ann2"); u.Email = ann.Email; return u }, identity.ErrExists},
		{"e-mail not normalized", func() identity.User { u := user("t-1", "u-b"); u.Email = "B@example.org"; return u }, identity.ErrInvalid},
		{"e-mail without @", func() identity.User { u := user("t-1", "u-b"); u.Email = "b.example.org"; return u }, identity.ErrInvalid},
		{"no tenant", func() identity.User { return user("", "u-b") }, identity.ErrInvalid},
		{"unknown status", func() identity.User { u := user("t-1", "u-b"); u.Status = "root"; return u }, identity.ErrInvalid},
		{"disabled without time", func() identity.User { u := user("t-1", "u-b"); u.Status = identity.StatusDisabled; return u }, identity.ErrInvalid},
		{"same e-mail, other tenant", func() identity.User { u := user("t-2", "u-ann-2"); u.Email = ann.Email; return u }, nil},
		{"no password", func() identity.User { u := user("t-1", "u-oidc"); u.PasswordHash = ""; u.MFARequired = false; return u }, nil},
	} {
		is(t, c.name, s.CreateUser(ctx, c.u()), c.want)
	}
	if got, err := s.UserByID(ctx, "t-1", "u-oidc"); err != nil || got.PasswordHash != "" || got.MFARequired {
		t.Fatalf("user without password: %+v, %v", got, err)
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"missing id", func() error { _, err := s.UserByID(ctx, "t-1", "u-none"); return err }()},
		{"missing e-mail", func() error { _, err := s.UserByEmail(ctx, "t-1", "none@example.org"); return err }()},
		{"malformed e-mail", func() error { _, err := s.UserByEmail(ctx, "t-1", "no at sign"); return err }()},
	} {
		is(t, c.name, c.err, identity.ErrNotFound)
	}
	is(t, "set password", s.SetPasswordHash(ctx, "t-1", "u-ann", "$argon2id$new"), nil)
	if got, _ := s.UserByID(ctx, "t-1", "u-ann"); got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password hash %q after update", got.PasswordHash)
	}
	is(t, "set password of a missing user", s.SetPasswordHash(ctx, "t-1", "u-none", "$argon2id$x"), identity.ErrNotFound)
}

// testTenantScoping: every method naming a tenant sees nothing of another
// tenant's user, and changes nothing of it.
func testTenantScoping(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	u := user("t-1", "u-1")
	mustCreate(t, s, u)
	is(t, "totp", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte("sealed"), LastStep: 5}), nil)
	is(t, "codes", s.SetRecoveryCodes(ctx, "t-1", "u-1", [][32]byte{hash("c1")}), nil)
	is(t, "session", s.CreateSession(ctx, session("t-1", "u-1", "tok", base)), nil)
	g := identity.Grant{ID: "g-1", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-admin", GrantedAt: base}
	is(t, "grant", s.AddGrant(ctx, g), nil)
	is(t, "elevation", s.RequestElevation(ctx, elevation("t-1", "e-1", "u-1", base)), nil)

	const other = "t-2"
	errs := map[string]error{}
	_, errs["UserByID"] = s.UserByID(ctx, other, "u-1")
	_, errs["UserByEmail"] = s.UserByEmail(ctx, other, u.Email)
	errs["SetPasswordHash"] = s.SetPasswordHash(ctx, other, "u-1", "x")
	_, errs["TOTP"] = s.TOTP(ctx, other, "u-1")
	errs["SetTOTP"] = s.SetTOTP(ctx, other, identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte("x")})
	errs["AcceptTOTPStep"] = s.AcceptTOTPStep(ctx, other, "u-1", 6, base)
	errs["DeleteTOTP"] = s.DeleteTOTP(ctx, other, "u-1")
	errs["SetRecoveryCodes"] = s.SetRecoveryCodes(ctx, other, "u-1", nil)
	errs["RedeemRecoveryCode"] = s.RedeemRecoveryCode(ctx, other, "u-1", hash("c1"), base)
	errs["CreateSession"] = s.CreateSession(ctx, session(other, "u-1", "tok2", base))
	errs["AddGrant"] = s.AddGrant(ctx, identity.Grant{ID: "g-2", Tenant: other, UserID: "u-1", Role: "sender", GrantedBy: "x", GrantedAt: base})
	errs["RevokeGrant"] = s.RevokeGrant(ctx, other, "g-1", "x", base)
	errs["RequestElevation"] = s.RequestElevation(ctx, elevation(other, "e-2", "u-1", base))
	_, errs["Elevation"] = s.Elevation(ctx, other, "e-1")
	errs["ApproveElevation"] = s.ApproveElevation(ctx, approval(elevation(other, "e-1", "u-1", base), "g-3", "u-x", base))
	errs["ExpireElevation"] = s.ExpireElevation(ctx, other, "e-1", "x", base)
	_, errs["DisableUser"] = s.DisableUser(ctx, other, "u-1", base)
	for name, err := range errs {
		is(t, name+" from another tenant", err, identity.ErrNotFound)
	}
	if cs, err := s.RecoveryCodes(ctx, other, "u-1"); err != nil || len(cs) != 0 {
		t.Fatalf("recovery codes from another tenant: %v, %v", cs, err)
	}
	if gs, err := s.Grants(ctx, other, "u-1"); err != nil || len(gs) != 0 {
		t.Fatalf("grants from another tenant: %v, %v", gs, err)
	}
	if es, err := s.PendingElevations(ctx, other); err != nil || len(es) != 0 {
		t.Fatalf("pending elevations of another tenant: %v, %v", es, err)
	}
	if hs, err := s.DeleteSessions(ctx, other, "u-1"); err != nil || len(hs) != 0 {
		t.Fatalf("sessions deleted from another tenant: %v, %v", hs, err)
	}
	// Nothing of t-1 changed.
	if got, err := s.UserByID(ctx, "t-1", "u-1"); err != nil || !sameUser(got, u) {
		t.Fatalf("user after other tenant's calls: %+v, %v", got, err)
	}
	if e, err := s.TOTP(ctx, "t-1", "u-1"); err != nil || e.LastStep != 5 || string(e.SealedSecret) != "sealed" {
		t.Fatalf("totp after other tenant's calls: %+v, %v", e, err)
	}
	if cs, err := s.RecoveryCodes(ctx, "t-1", "u-1"); err != nil || len(cs) != 1 || cs[0].Used() {
		t.Fatalf("codes after other tenant's calls: %+v, %v", cs, err)
	}
	if _, err := s.SessionByHash(ctx, hash("tok")); err != nil {
		t.Fatalf("session after other tenant's calls: %v", err)
	}
	if gs, err := s.Grants(ctx, "t-1", "u-1"); err != nil || len(gs) != 1 {
		t.Fatalf("grants after other tenant's calls: %+v, %v", gs, err)
	}
	if e, err := s.Elevation(ctx, "t-1", "e-1"); err != nil || e.Status != identity.ElevationPending {
		t.Fatalf("elevation after other tenant's calls: %+v, %v", e, err)
	}
}

func testDisableUser(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	for _, tok := range []string{"a", "b"} {
		is(t, "session "+tok, s.CreateSession(ctx, session("t-1", "u-1", tok, base)), nil)
	}
	is(t, "other user's session", s.CreateSession(ctx, session("t-1", "u-2", "c", base)), nil)
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		is(t, "request "+id, s.RequestElevation(ctx, elevation("t-1", id, "u-1", base)), nil)
	}
	is(t, "other user's request", s.RequestElevation(ctx, elevation("t-1", "e-4", "u-2", base)), nil)
	e2, _ := s.Elevation(ctx, "t-1", "e-2")
	is(t, "approve e-2", s.ApproveElevation(ctx, approval(e2, "g-2", "u-2", base.Add(time.Minute))), nil)
	is(t, "expire e-3", s.ExpireElevation(ctx, "t-1", "e-3", "u-2", base.Add(time.Minute)), nil)

	at := base.Add(time.Hour)
	rev, err := s.DisableUser(ctx, "t-1", "u-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if !sameHashes(rev.Sessions, [][32]byte{hash("a"), hash("b")}) || !slices.Equal(rev.Elevations, []string{"e-1"}) ||
		!slices.Equal(rev.Grants, []string{"g-2"}) {
		t.Fatalf("revoked %+v, want sessions a, b, elevation e-1 and e-2's grant g-2", rev)
	}
	if gs, err := s.Grants(ctx, "t-1", "u-1"); err != nil || len(gs) != 0 {
		t.Fatalf("grants of the disabled user %+v, %v; want the active elevation's revoked", gs, err)
	}
	u, err := s.UserByID(ctx, "t-1", "u-1")
	if err != nil || u.Status != identity.StatusDisabled || !u.DisabledAt.Equal(at) {
		t.Fatalf("disabled user %+v, %v", u, err)
	}
	for _, tok := range []string{"a", "b"} {
		_, err := s.SessionByHash(ctx, hash(tok))
		is(t, "revoked session", err, identity.ErrNotFound)
	}
	if _, err := s.SessionByHash(ctx, hash("c")); err != nil {
		t.Fatalf("other user's session: %v", err)
	}
	for id, want := range map[string]identity.ElevationStatus{
		"e-1": identity.ElevationRevoked, "e-2": identity.ElevationApproved, "e-3": identity.ElevationExpired, "e-4": identity.ElevationPending,
	} {
		if e, err := s.Elevation(ctx, "t-1", id); err != nil || e.Status != want {
			t.Fatalf("elevation %s: %+v, %v; want %s", id, e, err, want)
		}
	}
	if e, _ := s.Elevation(ctx, "t-1", "e-1"); e.DecidedBy != "u-1" || !e.DecidedAt.Equal(at) {
		t.Fatalf("revoked elevation %+v: decided by the disabled user at the time of disabling", e)
	}
	// A disabled user gets no new session, request, grant or enrolment.
	is(t, "session of a disabled user", s.CreateSession(ctx, session("t-1", "u-1", "d", at)), identity.ErrDisabled)
	is(t, "request of a disabled user", s.RequestElevation(ctx, elevation("t-1", "e-5", "u-1", at)), identity.ErrDisabled)
	is(t, "grant to a disabled user", s.AddGrant(ctx, identity.Grant{ID: "g-9", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-2", GrantedAt: at}), identity.ErrDisabled)
	is(t, "totp of a disabled user", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte("x")}), identity.ErrDisabled)
	// Disabling again revokes nothing and keeps the first time.
	rev, err = s.DisableUser(ctx, "t-1", "u-1", at.Add(time.Hour))
	if err != nil || len(rev.Sessions) != 0 || len(rev.Elevations) != 0 {
		t.Fatalf("second disable: %+v, %v", rev, err)
	}
	if u, _ := s.UserByID(ctx, "t-1", "u-1"); !u.DisabledAt.Equal(at) {
		t.Fatalf("disabled at %v after a second disable, want %v", u.DisabledAt, at)
	}
	_, err = s.DisableUser(ctx, "t-1", "u-none", at)
	is(t, "disable a missing user", err, identity.ErrNotFound)
}

func sameHashes(a, b [][32]byte) bool {
	cmp := func(x, y [32]byte) int { return bytes.Compare(x[:], y[:]) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func testTOTP(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"))
	_, err := s.TOTP(ctx, "t-1", "u-1")
	is(t, "no enrolment", err, identity.ErrNotFound)
	is(t, "accept without enrolment", s.AcceptTOTPStep(ctx, "t-1", "u-1", 1, base), identity.ErrNotFound)
	is(t, "enrol a missing user", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-none", SealedSecret: []byte("x")}), identity.ErrNotFound)
	is(t, "enrol without a secret", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1"}), identity.ErrInvalid)
	sealed := []byte{0, 1, 2, 0xff, 'x'}
	is(t, "enrol", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: sealed}), nil)
	e, err := s.TOTP(ctx, "t-1", "u-1")
	if err != nil || !bytes.Equal(e.SealedSecret, sealed) || e.LastStep != 0 || !e.ConfirmedAt.IsZero() || e.UserID != "u-1" {
		t.Fatalf("pending enrolment %+v, %v", e, err)
	}
	step := totp.StepAt(base)
	for _, c := range []struct {
		name string
		step uint64
		at   time.Time
		want error
	}{
		{"first code confirms", step, base, nil},
		{"same step replayed", step, base.Add(time.Second), identity.ErrConflict},
		{"earlier step", step - 1, base.Add(time.Second), identity.ErrConflict},
		{"next step", step + 1, base.Add(time.Minute), nil},
		{"out of range", math.MaxUint64, base, identity.ErrInvalid},
	} {
		is(t, c.name, s.AcceptTOTPStep(ctx, "t-1", "u-1", c.step, c.at), c.want)
	}
	e, err = s.TOTP(ctx, "t-1", "u-1")
	if err != nil || e.LastStep != step+1 || !e.ConfirmedAt.Equal(base) {
		t.Fatalf("enrolment after two codes %+v, %v; want last step %d confirmed at %v", e, err, step+1, base)
	}
	// A new enrolment replaces the old, step and all.
	is(t, "re-enrol", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte("new")}), nil)
	if e, _ := s.TOTP(ctx, "t-1", "u-1"); string(e.SealedSecret) != "new" || e.LastStep != 0 || !e.ConfirmedAt.IsZero() {
		t.Fatalf("re-enrolment %+v", e)
	}
	is(t, "delete", s.DeleteTOTP(ctx, "t-1", "u-1"), nil)
	is(t, "delete again", s.DeleteTOTP(ctx, "t-1", "u-1"), identity.ErrNotFound)
}

func testRecoveryCodes(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	is(t, "codes of a missing user", s.SetRecoveryCodes(ctx, "t-1", "u-none", [][32]byte{hash("x")}), identity.ErrNotFound)
	is(t, "duplicate codes", s.SetRecoveryCodes(ctx, "t-1", "u-1", [][32]byte{hash("x"), hash("x")}), identity.ErrInvalid)
	if cs, _ := s.RecoveryCodes(ctx, "t-1", "u-1"); len(cs) != 0 {
		t.Fatalf("a failed set stored %d codes", len(cs))
	}
	codes := [][32]byte{hash("c1"), hash("c2"), hash("c3")}
	is(t, "set", s.SetRecoveryCodes(ctx, "t-1", "u-1", codes), nil)
	is(t, "set for u-2", s.SetRecoveryCodes(ctx, "t-1", "u-2", [][32]byte{hash("c1")}), nil)
	at := base.Add(time.Minute)
	for _, c := range []struct {
		name string
		user string
		code [32]byte
		want error
	}{
		{"redeem", "u-1", hash("c2"), nil},
		{"redeem again", "u-1", hash("c2"), identity.ErrNotFound},
		{"unknown code", "u-1", hash("c9"), identity.ErrNotFound},
		{"another user's code stays", "u-2", hash("c2"), identity.ErrNotFound},
	} {
		is(t, c.name, s.RedeemRecoveryCode(ctx, "t-1", c.user, c.code, at), c.want)
	}
	cs, err := s.RecoveryCodes(ctx, "t-1", "u-1")
	if err != nil || len(cs) != 3 {
		t.Fatalf("codes %+v, %v", cs, err)
	}
	for _, c := range cs {
		if want := c.Hash == hash("c2"); c.Used() != want || (want && !c.UsedAt.Equal(at)) {
			t.Fatalf("code %x used at %v", c.Hash[:4], c.UsedAt)
		}
	}
	if cs, _ := s.RecoveryCodes(ctx, "t-1", "u-2"); len(cs) != 1 || cs[0].Used() {
		t.Fatalf("u-2's codes %+v", cs)
	}
	// A new set replaces the old one.
	is(t, "replace", s.SetRecoveryCodes(ctx, "t-1", "u-1", [][32]byte{hash("d1")}), nil)
	is(t, "old code after replacement", s.RedeemRecoveryCode(ctx, "t-1", "u-1", hash("c1"), at), identity.ErrNotFound)
	if cs, _ := s.RecoveryCodes(ctx, "t-1", "u-1"); len(cs) != 1 || cs[0].Hash != hash("d1") || cs[0].Used() {
		t.Fatalf("replaced codes %+v", cs)
	}
}

func testSessions(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	a := session("t-1", "u-1", "a", base)
	a.StrongAuthMethod, a.StrongAuthAt = "totp", base.Add(time.Second)
	is(t, "create", s.CreateSession(ctx, a), nil)
	got, err := s.SessionByHash(ctx, a.Hash)
	if err != nil || !sameSession(got, a) {
		t.Fatalf("session %+v, %v; want %+v", got, err, a)
	}
	for _, c := range []struct {
		name string
		s    func() identity.Session
		want error
	}{
		{"same hash", func() identity.Session { return session("t-1", "u-2", "a", base) }, identity.ErrExists},
		{"missing user", func() identity.Session { return session("t-1", "u-none", "b", base) }, identity.ErrNotFound},
		{"no csrf hash", func() identity.Session { x := session("t-1", "u-1", "b", base); x.CSRFHash = [32]byte{}; return x }, identity.ErrInvalid},
		{"no idle timeout", func() identity.Session { x := session("t-1", "u-1", "b", base); x.IdleTimeout = 0; return x }, identity.ErrInvalid},
		{"expired at birth", func() identity.Session { x := session("t-1", "u-1", "b", base); x.ExpiresAt = base; return x }, identity.ErrInvalid},
		{"strong method without time", func() identity.Session { x := session("t-1", "u-1", "b", base); x.StrongAuthMethod = "totp"; return x }, identity.ErrInvalid},
	} {
		is(t, c.name, s.CreateSession(ctx, c.s()), c.want)
	}
	// Touch moves LastSeen forward only.
	is(t, "touch", s.TouchSession(ctx, a.Hash, base.Add(5*time.Minute)), nil)
	is(t, "touch earlier", s.TouchSession(ctx, a.Hash, base.Add(time.Minute)), nil)
	if got, _ := s.SessionByHash(ctx, a.Hash); !got.LastSeen.Equal(base.Add(5 * time.Minute)) {
		t.Fatalf("last seen %v, want %v", got.LastSeen, base.Add(5*time.Minute))
	}
	is(t, "touch a missing session", s.TouchSession(ctx, hash("none"), base), identity.ErrNotFound)

	// Rotation replaces the hash; the old one is gone.
	b := session("t-1", "u-1", "b", base.Add(10*time.Minute))
	is(t, "rotate", s.RotateSession(ctx, a.Hash, b), nil)
	_, err = s.SessionByHash(ctx, a.Hash)
	is(t, "old session after rotation", err, identity.ErrNotFound)
	if got, err := s.SessionByHash(ctx, b.Hash); err != nil || !sameSession(got, b) {
		t.Fatalf("rotated session %+v, %v", got, err)
	}
	is(t, "rotate a rotated session", s.RotateSession(ctx, a.Hash, session("t-1", "u-1", "c", base)), identity.ErrNotFound)
	is(t, "rotate to another user", s.RotateSession(ctx, b.Hash, session("t-1", "u-2", "c", base)), identity.ErrInvalid)
	if _, err := s.SessionByHash(ctx, b.Hash); err != nil {
		t.Fatalf("a refused rotation deleted the session: %v", err)
	}
	if _, err := s.SessionByHash(ctx, hash("c")); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("a refused rotation stored its session: %v", err)
	}
	// Rotation onto a taken hash fails whole.
	is(t, "u-2's session", s.CreateSession(ctx, session("t-1", "u-2", "d", base)), nil)
	is(t, "rotate onto a taken hash", s.RotateSession(ctx, b.Hash, session("t-1", "u-1", "d", base)), identity.ErrExists)
	if _, err := s.SessionByHash(ctx, b.Hash); err != nil {
		t.Fatalf("a failed rotation deleted the session: %v", err)
	}

	is(t, "second session of u-1", s.CreateSession(ctx, session("t-1", "u-1", "e", base)), nil)
	is(t, "logout", s.DeleteSession(ctx, hash("e")), nil)
	is(t, "logout again", s.DeleteSession(ctx, hash("e")), identity.ErrNotFound)
	is(t, "third session of u-1", s.CreateSession(ctx, session("t-1", "u-1", "f", base)), nil)
	hs, err := s.DeleteSessions(ctx, "t-1", "u-1")
	if err != nil || !sameHashes(hs, [][32]byte{b.Hash, hash("f")}) {
		t.Fatalf("deleted sessions %x, %v", hs, err)
	}
	if _, err := s.SessionByHash(ctx, hash("d")); err != nil {
		t.Fatalf("u-2's session after deleting u-1's: %v", err)
	}
}

// testSessionMethod: a session keeps its first factor through a read and
// a rotation; an unknown one is refused; none reads back as none.
func testSessionMethod(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"))
	for i, m := range []string{identity.SessionPassword, identity.SessionOIDC, identity.SessionPasskey, ""} {
		x := session("t-1", "u-1", "m"+strconv.Itoa(i), base)
		x.Method = m
		if m == identity.SessionOIDC {
			x.Provider = "corp"
		}
		is(t, "create with method "+m, s.CreateSession(ctx, x), nil)
		got, err := s.SessionByHash(ctx, x.Hash)
		if err != nil || got.Method != m || !sameSession(got, x) {
			t.Fatalf("session of method %q read back %+v, %v", m, got, err)
		}
	}
	oidcSession := func(token string) identity.Session {
		x := session("t-1", "u-1", token, base)
		x.Method, x.Provider, x.AMR, x.ACR, x.AuthTime = identity.SessionOIDC, "corp", []string{"pwd", "otp"}, "urn:example:loa:2", base.Add(-time.Minute)
		return x
	}
	a := oidcSession("oidc-a")
	is(t, "create", s.CreateSession(ctx, a), nil)
	if got, err := s.SessionByHash(ctx, a.Hash); err != nil || !sameSession(got, a) {
		t.Fatalf("OIDC session read back %+v, %v; want %+v", got, err, a)
	}
	b := oidcSession("oidc-b")
	b.StrongAuthMethod, b.StrongAuthAt = "passkey", base.Add(time.Minute)
	is(t, "rotate", s.RotateSession(ctx, a.Hash, b), nil)
	if got, err := s.SessionByHash(ctx, b.Hash); err != nil || !sameSession(got, b) {
		t.Fatalf("rotated session %+v, %v; want %+v", got, err, b)
	}
	for _, c := range []struct {
		name string
		edit func(*identity.Session)
	}{
		{"unknown method", func(x *identity.Session) { x.Method = "saml" }},
		{"provider of a password session", func(x *identity.Session) { x.Method = identity.SessionPassword }},
		{"OIDC without a provider", func(x *identity.Session) { x.Provider = "" }},
		{"amr with a comma", func(x *identity.Session) { x.AMR = []string{"pwd,otp"} }},
		{"too many amr values", func(x *identity.Session) { x.AMR = slices.Repeat([]string{"pwd"}, identity.MaxAMR+1) }},
		{"acr too long", func(x *identity.Session) { x.ACR = strings.Repeat("a", identity.MaxACR+1) }},
	} {
		x := oidcSession("bad " + c.name)
		c.edit(&x)
		is(t, c.name, s.CreateSession(ctx, x), identity.ErrInvalid)
	}
}

func testGrants(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	standing := identity.Grant{ID: "g-b", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-2", GrantedAt: base}
	timed := identity.Grant{ID: "g-a", Tenant: "t-1", UserID: "u-1", Role: "auditor", GrantedBy: "u-2", GrantedAt: base,
		NotBefore: base.Add(time.Hour), NotAfter: base.Add(5 * time.Hour)}
	later := identity.Grant{ID: "g-0", Tenant: "t-1", UserID: "u-1", Role: "approver", GrantedBy: "u-2", GrantedAt: base.Add(time.Second)}
	for _, c := range []struct {
		name string
		g    identity.Grant
		want error
	}{
		{"standing", standing, nil},
		{"timed", timed, nil},
		{"later", later, nil},
		{"same id", standing, identity.ErrExists},
		{"missing user", identity.Grant{ID: "g-x", Tenant: "t-1", UserID: "u-none", Role: "sender", GrantedBy: "u-2", GrantedAt: base}, identity.ErrNotFound},
		{"ends before it starts", identity.Grant{ID: "g-x", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-2", GrantedAt: base, NotBefore: base, NotAfter: base}, identity.ErrInvalid},
		{"elevation without end", identity.Grant{ID: "g-x", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-2", GrantedAt: base, ElevationID: "e-1"}, identity.ErrInvalid},
		{"no grantor", identity.Grant{ID: "g-x", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedAt: base}, identity.ErrInvalid},
	} {
		is(t, c.name, s.AddGrant(ctx, c.g), c.want)
	}
	gs, err := s.Grants(ctx, "t-1", "u-1")
	// Oldest first, then by id.
	if err != nil || len(gs) != 3 || !sameGrant(gs[0], timed) || !sameGrant(gs[1], standing) || !sameGrant(gs[2], later) {
		t.Fatalf("grants %+v, %v", gs, err)
	}
	if gs, _ := s.Grants(ctx, "t-1", "u-2"); len(gs) != 0 {
		t.Fatalf("u-2's grants %+v", gs)
	}
	is(t, "revoke", s.RevokeGrant(ctx, "t-1", "g-b", "u-2", base.Add(time.Minute)), nil)
	is(t, "revoke again", s.RevokeGrant(ctx, "t-1", "g-b", "u-2", base.Add(time.Minute)), identity.ErrNotFound)
	is(t, "revoke unknown", s.RevokeGrant(ctx, "t-1", "g-none", "u-2", base), identity.ErrNotFound)
	if gs, _ := s.Grants(ctx, "t-1", "u-1"); len(gs) != 2 || gs[0].ID != "g-a" || gs[1].ID != "g-0" {
		t.Fatalf("grants after a revocation %+v", gs)
	}
}

func sameGrant(a, b identity.Grant) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.UserID == b.UserID && a.Role == b.Role && a.GrantedBy == b.GrantedBy &&
		a.GrantedAt.Equal(b.GrantedAt) && a.NotBefore.Equal(b.NotBefore) && a.NotAfter.Equal(b.NotAfter) &&
		a.ElevationID == b.ElevationID && a.RevokedBy == b.RevokedBy && a.RevokedAt.Equal(b.RevokedAt)
}

func sameElevation(a, b identity.Elevation) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.Role == b.Role && a.RequestedBy == b.RequestedBy && a.Reason == b.Reason &&
		a.Duration == b.Duration && a.RequestedAt.Equal(b.RequestedAt) && a.Status == b.Status && a.DecidedBy == b.DecidedBy &&
		a.DecidedAt.Equal(b.DecidedAt) && a.GrantID == b.GrantID
}

func testElevations(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	e1 := elevation("t-1", "e-1", "u-1", base.Add(time.Second))
	e2 := elevation("t-1", "e-2", "u-1", base)
	e3 := elevation("t-1", "e-3", "u-2", base.Add(time.Second))
	e3.Role, e3.Reason = "auditor", "annual review, ünïcode"
	for _, c := range []struct {
		name string
		e    identity.Elevation
		want error
	}{
		{"e-1", e1, nil},
		{"e-2", e2, nil},
		{"e-3", e3, nil},
		{"same id", e1, identity.ErrExists},
		{"missing user", elevation("t-1", "e-x", "u-none", base), identity.ErrNotFound},
		{"no reason", func() identity.Elevation { e := elevation("t-1", "e-x", "u-1", base); e.Reason = ""; return e }(), identity.ErrInvalid},
		{"not pending", func() identity.Elevation {
			e := elevation("t-1", "e-x", "u-1", base)
			e.Status = identity.ElevationApproved
			return e
		}(), identity.ErrInvalid},
		{"no duration", func() identity.Elevation { e := elevation("t-1", "e-x", "u-1", base); e.Duration = 0; return e }(), identity.ErrInvalid},
	} {
		is(t, c.name, s.RequestElevation(ctx, c.e), c.want)
	}
	if got, err := s.Elevation(ctx, "t-1", "e-3"); err != nil || !sameElevation(got, e3) {
		t.Fatalf("elevation %+v, %v; want %+v", got, err, e3)
	}
	ps, err := s.PendingElevations(ctx, "t-1")
	if err != nil || len(ps) != 3 || ps[0].ID != "e-2" || ps[1].ID != "e-1" || ps[2].ID != "e-3" {
		t.Fatalf("pending %+v, %v; want e-2, e-1, e-3", ps, err)
	}

	at := base.Add(time.Hour)
	wrongRole := approval(e1, "g-1", "u-2", at)
	wrongRole.Role = "tenant-admin"
	is(t, "approve with another role", s.ApproveElevation(ctx, wrongRole), identity.ErrInvalid)
	wrongUser := approval(e1, "g-1", "u-2", at)
	wrongUser.UserID = "u-2"
	is(t, "approve for another user", s.ApproveElevation(ctx, wrongUser), identity.ErrInvalid)
	if got, _ := s.Elevation(ctx, "t-1", "e-1"); got.Status != identity.ElevationPending {
		t.Fatalf("a refused approval left the request %s", got.Status)
	}
	g := approval(e1, "g-1", "u-2", at)
	is(t, "approve", s.ApproveElevation(ctx, g), nil)
	is(t, "approve again", s.ApproveElevation(ctx, approval(e1, "g-1b", "u-2", at)), identity.ErrConflict)
	is(t, "approve a missing request", s.ApproveElevation(ctx, approval(elevation("t-1", "e-none", "u-1", at), "g-9", "u-2", at)), identity.ErrNotFound)
	want := e1
	want.Status, want.DecidedBy, want.DecidedAt, want.GrantID = identity.ElevationApproved, "u-2", at, "g-1"
	if got, err := s.Elevation(ctx, "t-1", "e-1"); err != nil || !sameElevation(got, want) {
		t.Fatalf("approved request %+v, %v; want %+v", got, err, want)
	}
	if gs, err := s.Grants(ctx, "t-1", "u-1"); err != nil || len(gs) != 1 || !sameGrant(gs[0], g) {
		t.Fatalf("grants after approval %+v, %v; want %+v", gs, err, g)
	}
	// The store records an approval by the requester; forbidding it is
	// internal/authz's decision (break-glass exists).
	is(t, "self-approval is recorded", s.ApproveElevation(ctx, approval(e3, "g-3", "u-2", at)), nil)

	is(t, "expire", s.ExpireElevation(ctx, "t-1", "e-2", "system", at), nil)
	is(t, "expire again", s.ExpireElevation(ctx, "t-1", "e-2", "system", at), identity.ErrConflict)
	is(t, "approve an expired request", s.ApproveElevation(ctx, approval(e2, "g-2", "u-2", at)), identity.ErrConflict)
	is(t, "expire an approved request", s.ExpireElevation(ctx, "t-1", "e-1", "system", at), identity.ErrConflict)
	is(t, "expire a missing request", s.ExpireElevation(ctx, "t-1", "e-none", "system", at), identity.ErrNotFound)
	if got, _ := s.Elevation(ctx, "t-1", "e-2"); got.Status != identity.ElevationExpired || got.DecidedBy != "system" || got.GrantID != "" {
		t.Fatalf("expired request %+v", got)
	}
	if ps, _ := s.PendingElevations(ctx, "t-1"); len(ps) != 0 {
		t.Fatalf("pending after decisions %+v", ps)
	}
	if gs, _ := s.Grants(ctx, "t-1", "u-1"); len(gs) != 1 {
		t.Fatalf("a refused approval stored a grant: %+v", gs)
	}
}

// testTwoNodes: each node sees the other's writes at once.
func testTwoNodes(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"))
	if _, err := db.B.UserByEmail(ctx, "t-1", "u-1@example.org"); err != nil {
		t.Fatalf("node B: %v", err)
	}
	is(t, "session on B", db.B.CreateSession(ctx, session("t-1", "u-1", "a", base)), nil)
	if _, err := db.A.SessionByHash(ctx, hash("a")); err != nil {
		t.Fatalf("node A: %v", err)
	}
	rev, err := db.A.DisableUser(ctx, "t-1", "u-1", base)
	if err != nil || len(rev.Sessions) != 1 {
		t.Fatalf("disable on A: %+v, %v", rev, err)
	}
	_, err = db.B.SessionByHash(ctx, hash("a"))
	is(t, "session on B after disable on A", err, identity.ErrNotFound)
	is(t, "new session on B", db.B.CreateSession(ctx, session("t-1", "u-1", "b", base)), identity.ErrDisabled)
}

// race runs n calls alternately on the two nodes at once and returns how
// many succeeded; every failure must match lose.
func race(t *testing.T, db DB, n int, lose error, call func(s identity.Store, i int) error) int {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := db.A
		if i%2 == 1 {
			s = db.B
		}
		wg.Go(func() {
			<-start
			errs[i] = call(s, i)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, lose):
			t.Errorf("call %d: %v, want success or %v", i, err, lose)
		}
	}
	return won
}

// testRaces: compare-and-set across two nodes lets exactly one of several
// racing requests through.
func testRaces(t *testing.T, db DB) {
	ctx := t.Context()
	const n = 8
	mustCreate(t, db.A, user("t-1", "u-1"))
	is(t, "enrol", db.A.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte("sealed")}), nil)
	is(t, "codes", db.A.SetRecoveryCodes(ctx, "t-1", "u-1", [][32]byte{hash("c1"), hash("c2")}), nil)
	is(t, "session", db.A.CreateSession(ctx, session("t-1", "u-1", "old", base)), nil)
	for i := range 3 {
		is(t, "request", db.A.RequestElevation(ctx, elevation("t-1", fmt.Sprint("e-", i), "u-1", base)), nil)
	}
	for round := range 3 {
		step := uint64(1000 + round)
		if won := race(t, db, n, identity.ErrConflict, func(s identity.Store, _ int) error {
			return s.AcceptTOTPStep(ctx, "t-1", "u-1", step, base)
		}); won != 1 {
			t.Fatalf("TOTP step %d accepted %d times", step, won)
		}
	}
	if e, _ := db.B.TOTP(ctx, "t-1", "u-1"); e.LastStep != 1002 {
		t.Fatalf("last step %d, want 1002", e.LastStep)
	}
	if won := race(t, db, n, identity.ErrNotFound, func(s identity.Store, _ int) error {
		return s.RedeemRecoveryCode(ctx, "t-1", "u-1", hash("c1"), base)
	}); won != 1 {
		t.Fatalf("recovery code redeemed %d times", won)
	}
	if won := race(t, db, n, identity.ErrNotFound, func(s identity.Store, i int) error {
		return s.RotateSession(ctx, hash("old"), session("t-1", "u-1", fmt.Sprint("new-", i), base))
	}); won != 1 {
		t.Fatalf("session rotated %d times", won)
	}
	if hs, _ := db.A.DeleteSessions(ctx, "t-1", "u-1"); len(hs) != 1 {
		t.Fatalf("%d sessions after racing rotations, want 1", len(hs))
	}
	for i := range 3 {
		id := fmt.Sprint("e-", i)
		e, _ := db.A.Elevation(ctx, "t-1", id)
		if won := race(t, db, n, identity.ErrConflict, func(s identity.Store, j int) error {
			if j%3 == 2 {
				return s.ExpireElevation(ctx, "t-1", id, "system", base)
			}
			return s.ApproveElevation(ctx, approval(e, fmt.Sprintf("g-%d-%d", i, j), fmt.Sprint("u-approver-", j), base))
		}); won != 1 {
			t.Fatalf("elevation %s decided %d times", id, won)
		}
	}
	gs, _ := db.B.Grants(ctx, "t-1", "u-1")
	approved := 0
	for i := range 3 {
		if e, _ := db.B.Elevation(ctx, "t-1", fmt.Sprint("e-", i)); e.Status == identity.ElevationApproved {
			approved++
		}
	}
	if len(gs) != approved {
		t.Fatalf("%d grants for %d approved requests", len(gs), approved)
	}
	if won := race(t, db, n, identity.ErrExists, func(s identity.Store, i int) error {
		u := user("t-1", fmt.Sprint("u-dup-", i))
		u.Email = "dup@example.org"
		return s.CreateUser(ctx, u)
	}); won != 1 {
		t.Fatalf("one e-mail created %d times", won)
	}
}

// testDisableRacesSessions: sessions created on one node while the user is
// disabled on the other either fail or are revoked; none survives.
func testDisableRacesSessions(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"))
	const n = 16
	var wg sync.WaitGroup
	created := make([]bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := db.B.CreateSession(ctx, session("t-1", "u-1", fmt.Sprint("tok-", i), base))
			if err != nil && !errors.Is(err, identity.ErrDisabled) {
				t.Errorf("session %d: %v", i, err)
			}
			created[i] = err == nil
		})
	}
	var rev identity.Revoked
	var derr error
	wg.Go(func() {
		<-start
		rev, derr = db.A.DisableUser(ctx, "t-1", "u-1", base)
	})
	close(start)
	wg.Wait()
	if derr != nil {
		t.Fatal(derr)
	}
	var want [][32]byte
	for i, ok := range created {
		tok := fmt.Sprint("tok-", i)
		if ok {
			want = append(want, hash(tok))
		}
		if _, err := db.A.SessionByHash(ctx, hash(tok)); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("session %s outlived the disabling: %v", tok, err)
		}
	}
	if !sameHashes(rev.Sessions, want) {
		t.Fatalf("revoked %d sessions, created %d", len(rev.Sessions), len(want))
	}
}

// testNoClearSecrets: a session token, its CSRF token, a TOTP secret and
// recovery codes, handled as the login code will, appear in no form in
// the database at rest; what is meant to be stored (an e-mail address,
// the sealed secret) does, so the scan can see.
func testNoClearSecrets(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	u := user("t-1", "u-secret")
	u.Email = "visible.marker@example.org"
	mustCreate(t, s, u)

	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	token := "st_" + base64.RawURLEncoding.EncodeToString(random(32))
	csrf := "ct_" + base64.RawURLEncoding.EncodeToString(random(32))
	sess := session("t-1", u.ID, "", base)
	sess.Hash, sess.CSRFHash = sha256.Sum256([]byte(token)), sha256.Sum256([]byte(csrf))
	is(t, "session", s.CreateSession(ctx, sess), nil)

	key, err := totp.GenerateKey(totp.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(random(32))
	aead, _ := cipher.NewGCM(block)
	nonce := random(aead.NonceSize())
	sealed := aead.Seal(nonce, nonce, key.Secret, nil)
	is(t, "totp", s.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: u.ID, SealedSecret: sealed}), nil)

	h, err := recovery.NewHasher(random(32))
	if err != nil {
		t.Fatal(err)
	}
	codes, stored, err := h.Generate(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	hs := make([][32]byte, len(stored))
	for i, c := range stored {
		hs[i] = c.Hash
	}
	is(t, "codes", s.SetRecoveryCodes(ctx, "t-1", u.ID, hs), nil)
	code0, _ := h.Hash(u.ID, codes[0])
	is(t, "redeem", s.RedeemRecoveryCode(ctx, "t-1", u.ID, code0, base), nil)

	secrets := map[string]string{
		"session token":      token,
		"csrf token":         csrf,
		"totp secret":        string(key.Secret),
		"totp secret base32": base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key.Secret),
	}
	for i, c := range codes {
		secrets[fmt.Sprint("recovery code ", i)] = c
	}
	for name, v := range secrets {
		if db.Holds(t, v) {
			t.Errorf("the database holds the %s", name)
		}
	}
	if !db.Holds(t, u.Email) || !db.Holds(t, string(sealed)) {
		t.Fatal("the scan finds neither the e-mail address nor the sealed secret: it cannot see the database")
	}
}

// testLimits: lists fail beyond identity.MaxList rather than return a
// part; a user's recovery codes are bounded.
func testLimits(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"))
	codes := make([][32]byte, identity.MaxRecoveryCodes+1)
	for i := range codes {
		codes[i] = hash(fmt.Sprint("code ", i))
	}
	is(t, "too many recovery codes", s.SetRecoveryCodes(ctx, "t-1", "u-1", codes), identity.ErrInvalid)
	is(t, "most recovery codes", s.SetRecoveryCodes(ctx, "t-1", "u-1", codes[1:]), nil)

	// Written by a few writers at once, alternately on the two nodes.
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		s := []identity.Store{db.A, db.B}[w%2]
		wg.Go(func() {
			for i := w; i <= identity.MaxList; i += writers {
				at := base.Add(time.Duration(i) * time.Millisecond)
				if err := s.AddGrant(ctx, identity.Grant{ID: fmt.Sprintf("g-%04d", i), Tenant: "t-1", UserID: "u-1", Role: "sender",
					GrantedBy: "u-admin", GrantedAt: at}); err != nil {
					t.Errorf("grant %d: %v", i, err)
					return
				}
				if err := s.RequestElevation(ctx, elevation("t-1", fmt.Sprintf("e-%04d", i), "u-1", at)); err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	_, err := s.Grants(ctx, "t-1", "u-1")
	is(t, "grants beyond the limit", err, identity.ErrLimit)
	_, err = s.PendingElevations(ctx, "t-1")
	is(t, "pending requests beyond the limit", err, identity.ErrLimit)
	is(t, "revoke one grant", s.RevokeGrant(ctx, "t-1", "g-0500", "u-admin", base), nil)
	is(t, "expire one request", s.ExpireElevation(ctx, "t-1", "e-0000", "system", base), nil)
	gs, err := s.Grants(ctx, "t-1", "u-1")
	if err != nil || len(gs) != identity.MaxList || gs[0].ID != "g-0000" || gs[len(gs)-1].ID != fmt.Sprintf("g-%04d", identity.MaxList) {
		t.Fatalf("%d grants at the limit, %v", len(gs), err)
	}
	es, err := s.PendingElevations(ctx, "t-1")
	if err != nil || len(es) != identity.MaxList || es[0].ID != "e-0001" {
		t.Fatalf("%d pending requests at the limit, %v", len(es), err)
	}
}

// FilesHold reports whether any file under dir (a database with its -wal
// and -shm files) holds a form of secret ([secretscan.Forms]): the Holds
// of a file-backed driver.
func FilesHold(t *testing.T, dir, secret string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = found || BytesHold(b, secret)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// BytesHold reports whether b holds a form of secret
// ([secretscan.Forms]): the Holds of a driver that dumps its database as
// text.
func BytesHold(b []byte, secret string) bool {
	for _, f := range secretscan.Forms(secret) {
		if bytes.Contains(b, f) {
			return true
		}
	}
	return false
}
