package login_test

import (
	"bytes"
	"testing"

	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/totp"
)

// TestOpenTOTPKey: the secret of an enrolment made through the login
// routes opens with [login.TOTPKeys] over the login's sealer, for its
// own user only; a key sealed by [login.SealTOTPKey] opens the same way,
// and another sealer's secret does not.
func TestOpenTOTPKey(t *testing.T) {
	var sealer login.Sealer
	e := newEnv(t, func(_ *env, cfg *login.Config) { sealer = cfg.Sealer })
	e.policy.MFAOptional = true
	ann := e.user("u-ann", false)
	bob := e.user("u-bob", false)
	k := e.enrolTOTP(e.mustLogin("u-ann@example.org", "none"))
	en, err := e.store.TOTP(t.Context(), tenant, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	keys := login.TOTPKeys{Sealer: sealer}
	got, err := keys.OpenTOTP(t.Context(), ann, en.SealedSecret)
	if err != nil || !bytes.Equal(got.Secret, k.Secret) || got.Algorithm != k.Algorithm || got.Digits != k.Digits {
		t.Fatalf("opened %+v, %v", got, err)
	}
	if _, err := keys.OpenTOTP(t.Context(), bob, en.SealedSecret); err == nil {
		t.Fatal("ann's secret opened for bob")
	}
	if _, err := (login.TOTPKeys{Sealer: newGCM(t)}).OpenTOTP(t.Context(), ann, en.SealedSecret); err == nil {
		t.Fatal("the secret opened with another sealer")
	}

	k2, err := totp.GenerateKey(totp.SHA256, 8)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := login.SealTOTPKey(sealer, bob, k2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := login.OpenTOTPKey(sealer, bob, sealed); err != nil || !bytes.Equal(got.Secret, k2.Secret) || got.Digits != 8 || got.Algorithm != totp.SHA256 {
		t.Fatalf("opened %+v, %v", got, err)
	}
	if _, err := login.SealTOTPKey(sealer, bob, totp.Key{Algorithm: totp.SHA1, Digits: 6}); err == nil {
		t.Fatal("a key without a secret was sealed")
	}
	if _, err := login.OpenTOTPKey(nil, bob, sealed); err == nil {
		t.Fatal("opened without a sealer")
	}
}
