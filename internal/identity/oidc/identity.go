package oidc

import (
	"slices"
	"time"
)

// An Identity is what a verified ID token (completed from the UserInfo
// endpoint where the token lacks a claim) says about the user.
type Identity struct {
	// Issuer and Subject identify the user at the provider; together they
	// are the only stable key (an e-mail address can change owner).
	Issuer  string
	Subject string
	// Email is the user's e-mail address, as the provider states it;
	// EmailVerified says whether the provider verified it.
	Email         string
	EmailVerified bool
	// Name is the user's display name.
	Name string
	// Groups are the user's groups at the provider (the claim named by
	// [Provider.GroupsClaim]), sorted, duplicates removed.
	Groups []string
	// AMR are the authentication methods of the login (RFC 8176) and ACR
	// its authentication context class, as the provider stated them.
	AMR []string
	ACR string
	// TrustedACR is set by [Client.Finish] when ACR is one of the
	// provider's [Provider.StrongACR].
	TrustedACR bool
	// AuthTime is when the user authenticated at the provider.
	AuthTime time.Time
}

// Assurance methods returned by [Assurance].
const (
	MethodOIDC    = "oidc"
	MethodOIDCMFA = "oidc-mfa"
)

// Categories of the RFC 8176 values that [Assurance] counts. Values not
// listed (user, geo, rba, mca, wia, and any unregistered value) count for
// nothing.
var (
	knowledgeAMR  = []string{"pwd", "pin", "kba"}
	possessionAMR = []string{"hwk", "swk", "otp", "sms", "tel", "sc"}
	inherenceAMR  = []string{"fpt", "face", "iris", "retina", "vbm"}
)

// Assurance says how strongly the provider authenticated the user. The
// login is strong, method [MethodOIDCMFA], when
//
//   - the amr claim contains "mfa" (the provider states that it used
//     several factors), or
//   - it contains "hwk" (proof of possession of a hardware-secured key: a
//     security key or a device-bound passkey, which is phishing-resistant),
//     or
//   - it names a possession factor (hwk, swk, otp, sms, tel, sc) together
//     with a knowledge factor (pwd, pin, kba) or an inherence factor (fpt,
//     face, iris, retina, vbm): two factors of different kinds, or
//   - its acr is one the provider is configured to trust
//     ([Identity.TrustedACR], from [Provider.StrongACR]).
//
// Anything else — a password alone, an OTP or a software key alone, a
// biometric alone, two values of one kind (pwd with kba), or an empty or
// unknown amr — is a plain login, method [MethodOIDC].
func Assurance(id Identity) (method string, strong bool) {
	has := func(set []string) bool {
		return slices.ContainsFunc(id.AMR, func(v string) bool { return slices.Contains(set, v) })
	}
	switch {
	case id.TrustedACR,
		slices.Contains(id.AMR, "mfa"),
		slices.Contains(id.AMR, "hwk"),
		has(possessionAMR) && (has(knowledgeAMR) || has(inherenceAMR)):
		return MethodOIDCMFA, true
	}
	return MethodOIDC, false
}

// Roles returns the Signet roles that id's groups confer through
// [Provider.RoleMap]: unknown groups are ignored; the result is sorted and
// has no duplicates. The roles are what the provider vouches for; the
// caller still applies the tenant's policy (privileged roles come by
// elevation, not by login). An identity from another issuer confers no
// role.
func (c *Client) Roles(id Identity) []string {
	if id.Issuer != c.p.Issuer {
		return nil
	}
	var out []string
	for _, g := range id.Groups {
		out = append(out, c.p.RoleMap[g]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Name returns the provider's name ([Provider.Name]).
func (c *Client) Name() string { return c.p.Name }

// Tenant returns the tenant the provider logs users into
// ([Provider.Tenant]).
func (c *Client) Tenant() string { return c.p.Tenant }
