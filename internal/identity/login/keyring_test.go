package login_test

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// TestTOTPKeyRing: with a key ring, an enrolment's TOTP secret is sealed
// under the user's object of their tenant ("sealed:" + base64url), opens
// for that user only and not without the key ring, is nowhere in
// signet.db, and is gone once the user's object is shredded; a secret
// sealed by the sealer before the key ring still opens.
func TestTOTPKeyRing(t *testing.T) {
	keys := &atresttest.KeyRing{}
	var sealer login.Sealer
	e := newEnv(t, func(_ *env, cfg *login.Config) { cfg.Keys, sealer = keys, cfg.Sealer })
	e.policy.MFAOptional = true
	ann := e.user("u-ann", false)
	bob := e.user("u-bob", false)
	k := e.enrolTOTP(e.mustLogin("u-ann@example.org", "none"))
	// A second login with the code: the sealed secret opens in the login.
	e.advance(60 * time.Second)
	p := e.mustLogin("u-ann@example.org", "required")
	if r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": e.code(k)}, false); r.status != 200 {
		t.Fatalf("TOTP: %d %s", r.status, r.body)
	}
	ctx := t.Context()
	en, err := e.store.TOTP(ctx, tenant, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(en.SealedSecret, []byte("sealed:")) {
		t.Fatalf("stored secret %q is not sealed under the key ring", en.SealedSecret[:8])
	}
	tk := login.TOTPKeys{Sealer: sealer, Keys: keys}
	got, err := tk.OpenTOTP(ctx, ann, en.SealedSecret)
	if err != nil || !bytes.Equal(got.Secret, k.Secret) {
		t.Fatalf("opened %+v, %v", got, err)
	}
	if _, err := tk.OpenTOTP(ctx, bob, en.SealedSecret); err == nil {
		t.Fatal("ann's secret opened for bob")
	}
	if _, err := (login.TOTPKeys{Sealer: sealer}).OpenTOTP(ctx, ann, en.SealedSecret); err == nil {
		t.Fatal("opened without the key ring")
	}
	secretscan.Check(t, e.dir, e.secrets...)

	k2, err := totp.GenerateKey(totp.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := login.SealTOTPKey(sealer, bob, k2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tk.OpenTOTP(ctx, bob, legacy); err != nil || !bytes.Equal(got.Secret, k2.Secret) {
		t.Fatalf("secret sealed by the sealer: %+v, %v", got, err)
	}

	if err := keys.Shred(ctx, tenant, identity.UserObject(ann.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.OpenTOTP(ctx, ann, en.SealedSecret); err == nil {
		t.Fatal("opened after the user's key was shredded")
	}
}

// TestLockoutKeysKeyed: the lockout counters of a failed login hold
// neither the SHA-256 of the client IP's key nor of the account's (which
// anyone could compute from an address), only that of a keyed HMAC.
func TestLockoutKeysKeyed(t *testing.T) {
	e := newEnv(t)
	e.user("u-ann", false)
	if s, r := e.login("u-ann@example.org", "wrong password"); s != nil || r.status != 401 {
		t.Fatalf("wrong password: %d", r.status)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "signet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT key_hash FROM identity_lockouts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	plain := map[[32]byte]string{
		identity.LockoutKeyHash("login-ip\x00192.0.2.1"):                        "client IP",
		identity.LockoutKeyHash("login\x00" + tenant + "\x00u-ann@example.org"): "account",
	}
	n := 0
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		n++
		if what, ok := plain[[32]byte(h)]; ok {
			t.Errorf("the %s's lockout key is stored as its plain SHA-256", what)
		}
	}
	if n != 2 {
		t.Fatalf("%d lockout rows, want 2 (account and client IP)", n)
	}
}
