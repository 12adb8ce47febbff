package main

import (
	"crypto/sha256"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/identity"
	identitypostgres "github.com/signet-pki/signet/internal/identity/postgres"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/sqldb"
)

// TestMigrateIdentityRecords: users and their credentials stored in a data
// directory's signet.db reach PostgreSQL through `signet migrate`, every
// field intact (times to the microsecond), tenant policies and
// invitations and links to external accounts included.
func TestMigrateIdentityRecords(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "qs")
	if code, stdout, stderr := signetRun(t, "quickstart", "--dir", dir); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	data := filepath.Join(dir, "data")

	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	u := identity.User{ID: "u-1", Tenant: "t-1", Email: "ann@example.org", Name: "Ann", Status: identity.StatusActive,
		CreatedAt: at, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", MFARequired: true}
	sess := identity.Session{Hash: sha256.Sum256([]byte("token")), UserID: "u-1", Tenant: "t-1", CreatedAt: at, LastSeen: at,
		ExpiresAt: at.Add(time.Hour), IdleTimeout: 15 * time.Minute, StrongAuthMethod: "totp", StrongAuthAt: at,
		CSRFHash: sha256.Sum256([]byte("csrf"))}
	g := identity.Grant{ID: "g-1", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-0", GrantedAt: at,
		NotBefore: at, NotAfter: at.Add(time.Hour)}
	e := identity.Elevation{ID: "e-1", Tenant: "t-1", Role: "auditor", RequestedBy: "u-1", Reason: "review",
		Duration: time.Hour, RequestedAt: at, Status: identity.ElevationPending}

	pool, err := sqldb.OpenPool(ctx, filepath.Join(data, datadir.ServiceDB), identitysqlite.Migrations, 1)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := identitysqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		lite.CreateUser(ctx, u),
		lite.SetTOTP(ctx, "t-1", identity.TOTPEnrolment{UserID: "u-1", SealedSecret: []byte{1, 2, 3}}),
		lite.AcceptTOTPStep(ctx, "t-1", "u-1", 12345, at),
		lite.SetRecoveryCodes(ctx, "t-1", "u-1", [][32]byte{sha256.Sum256([]byte("c1")), sha256.Sum256([]byte("c2"))}),
		lite.RedeemRecoveryCode(ctx, "t-1", "u-1", sha256.Sum256([]byte("c1")), at),
		lite.CreateSession(ctx, sess),
		lite.AddGrant(ctx, g),
		lite.RequestElevation(ctx, e),
		lite.AddPasskey(ctx, identity.Passkey{CredentialID: []byte{0, 1, 0xff}, Tenant: "t-1", UserID: "u-1",
			PublicKey: []byte{0xa5, 1, 2}, AAGUID: [16]byte{9}, Transports: []string{"usb", "nfc"}, BackupEligible: true,
			Name: "key", CreatedAt: at}),
		lite.UpdatePasskeyUse(ctx, []byte{0, 1, 0xff}, 3_000_000_000, at),
		lite.Lock(ctx, "login\x00t-1\x00ann@example.org", at.Add(time.Hour)),
		lite.SetPolicy(ctx, authz.TenantPolicy{Tenant: "t-1", StepUpWindow: 5 * time.Minute, BreakGlass: []string{"u-1"},
			Roles: []authz.Role{{Name: "clerk", Actions: []authz.Action{authz.ActionEnvelopeRead}}}}, 0, "u-0", at),
		lite.CreateInvitation(ctx, identity.Invitation{Hash: sha256.Sum256([]byte("invitation")), Tenant: "t-1", UserID: "u-1",
			CreatedBy: "u-0", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}),
		lite.LinkExternal(ctx, identity.ExternalLink{Tenant: "t-1", UserID: "u-1", Issuer: "https://idp.example.org",
			Subject: "ann-at-idp", CreatedAt: at}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := readIdentity(t, lite)
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}

	owner, app := pgtest.NewDatabase(t)
	if code, stdout, stderr := signetRun(t, "migrate", "--from", data, "--to", owner, "--app-role", pgtest.AppRole); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	pg, err := identitypostgres.New(ctx, pgtest.Pool(t, app))
	if err != nil {
		t.Fatal(err)
	}
	if got := readIdentity(t, pg); !reflect.DeepEqual(got, want) {
		t.Fatalf("PostgreSQL holds\n%+v\nSQLite held\n%+v", got, want)
	}
}

// identityRecords is what readIdentity reads, with times in UTC so that
// the two drivers' values compare.
type identityRecords struct {
	User     identity.User
	TOTP     identity.TOTPEnrolment
	Codes    []identity.RecoveryCode
	Session  identity.Session
	Grants   []identity.Grant
	Requests []identity.Elevation
	Passkeys []identity.Passkey
	Locked   time.Time
	Policy   identity.PolicyRecord
	Invite   identity.Invitation
	Links    []identity.ExternalLink
}

func readIdentity(t *testing.T, s identity.Store) identityRecords {
	t.Helper()
	ctx := t.Context()
	var r identityRecords
	var errs [11]error
	r.User, errs[0] = s.UserByID(ctx, "t-1", "u-1")
	r.TOTP, errs[1] = s.TOTP(ctx, "t-1", "u-1")
	r.Codes, errs[2] = s.RecoveryCodes(ctx, "t-1", "u-1")
	r.Session, errs[3] = s.SessionByHash(ctx, sha256.Sum256([]byte("token")))
	r.Grants, errs[4] = s.Grants(ctx, "t-1", "u-1")
	r.Requests, errs[5] = s.PendingElevations(ctx, "t-1")
	r.Passkeys, errs[6] = s.PasskeysOf(ctx, "t-1", "u-1")
	r.Locked, errs[7] = s.LockedUntil(ctx, "login\x00t-1\x00ann@example.org")
	r.Policy, errs[8] = s.PolicyRecord(ctx, "t-1")
	r.Invite, errs[9] = s.Invitation(ctx, sha256.Sum256([]byte("invitation")))
	r.Links, errs[10] = s.ExternalLinksOf(ctx, "t-1", "u-1")
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	utc := func(ts ...*time.Time) {
		for _, t := range ts {
			*t = t.UTC()
		}
	}
	utc(&r.User.CreatedAt, &r.User.DisabledAt, &r.TOTP.ConfirmedAt, &r.Session.CreatedAt, &r.Session.LastSeen,
		&r.Session.ExpiresAt, &r.Session.StrongAuthAt, &r.Locked,
		&r.Policy.UpdatedAt, &r.Invite.CreatedAt, &r.Invite.ExpiresAt, &r.Invite.UsedAt)
	for i := range r.Codes {
		utc(&r.Codes[i].UsedAt)
	}
	for i := range r.Grants {
		utc(&r.Grants[i].GrantedAt, &r.Grants[i].NotBefore, &r.Grants[i].NotAfter, &r.Grants[i].RevokedAt)
	}
	for i := range r.Requests {
		utc(&r.Requests[i].RequestedAt, &r.Requests[i].DecidedAt)
	}
	for i := range r.Passkeys {
		utc(&r.Passkeys[i].CreatedAt, &r.Passkeys[i].LastUsedAt)
	}
	for i := range r.Links {
		utc(&r.Links[i].CreatedAt)
	}
	if len(r.Codes) != 2 || len(r.Grants) != 1 || len(r.Requests) != 1 || r.TOTP.LastStep != 12345 ||
		len(r.Passkeys) != 1 || r.Passkeys[0].SignCount != 3_000_000_000 || !r.Passkeys[0].BackupEligible || r.Locked.IsZero() ||
		r.Policy.Version != 1 || len(r.Policy.Policy.Roles) != 1 || r.Invite.UserID != "u-1" ||
		len(r.Links) != 1 || r.Links[0].Subject != "ann-at-idp" {
		t.Fatalf("records read back: %+v", r)
	}
	return r
}
