// Package oidc logs users in at an external OpenID Provider (OpenID
// Connect Core 1.0, authorization code flow) for one tenant, over
// github.com/zitadel/oidc/v3's relying-party code. It is a library: the
// login handlers call it, and decide what a login grants.
//
// # Flow
//
// [New] reads the provider's discovery document and checks that it names
// the configured issuer. [Client.Begin] draws a random state, nonce and
// PKCE code verifier (RFC 7636, S256) and returns the authorization URL
// (with max_age, [Provider.MaxAuthAge]) and a [Pending] that the caller
// keeps, confidential and single-use, until the browser returns (a
// server-side record keyed by [Pending.State], or an encrypted,
// authenticated cookie: [Pending.MarshalBinary] writes [PendingSize]
// bytes). [Client.Finish] takes the Pending and the callback's query and
// refuses, in this order: a Pending that is malformed, expired or another
// provider's ([ErrPending]); a state that is not the Pending's
// ([ErrState]); an iss parameter naming another issuer (RFC 9207) or a
// missing code ([ErrCallback]); an error response ([*ErrorResponse]); a
// code the token endpoint refuses — already used, wrong verifier, wrong
// client secret ([ErrExchange]); an ID token that fails a check —
// signature, issuer, audience, authorized party, expiry, issued-at,
// nonce, at_hash, auth_time ([ErrIDToken]); claims of the wrong shape or
// beyond the limits ([ErrClaims]). Claims the ID token lacks (e-mail,
// name, groups) come from the UserInfo endpoint, whose sub must match.
//
// # Roles and assurance
//
// [Client.Roles] maps the IdP groups of an [Identity] to Signet role
// names through [Provider.RoleMap]. [Assurance] classifies the login
// from its amr (RFC 8176) and acr as "oidc" or "oidc-mfa"; the rule is in
// its doc comment.
//
// # Limits
//
// Every response read from the provider is limited to 1 MiB and every
// call to the client's timeout (15 s by default); at most 256 groups of
// 256 bytes, 16 amr values, and string claims of 1 KiB are accepted.
// Errors name the provider and never contain the client secret, the
// nonce or the code verifier.
//
// Package [github.com/signet-pki/signet/internal/identity/oidc/oidctest]
// runs an OpenID Provider in process for the tests.
package oidc
