// Package login is how users log in: password or OIDC, sessions in
// cookies, CSRF tokens, TOTP, passkeys and recovery codes as second
// factors, step-up, and the lockout of brute force. It serves the /v1/auth/* and /v1/me/* routes
// ([Service.Register], [OpenAPI]) and verifies session cookies for the
// authentication middleware ([Service.VerifySession], an
// api.SessionVerifier).
//
// # Sessions
//
// A session is a random 256-bit token in a cookie (Secure, HttpOnly,
// SameSite=Strict, Path=/, named with the __Host- prefix) and a random
// CSRF token returned in the body; the store keeps only their SHA-256
// (identity.Session). Every request re-reads the session and its user:
// a session past its absolute end or idle for longer than its idle
// timeout is deleted and refused, a disabled user's session is refused
// on the next request, and LastSeen is written at most once a minute.
// Requests with an unsafe method (POST, PUT, PATCH, DELETE) must carry
// the CSRF token in X-CSRF-Token. Logging in never adopts a cookie the
// browser already had, and completing a second factor, stepping up or
// changing the password rotates the token: the old one is deleted in the
// same store call that stores the new one (identity.Sessions.RotateSession)
// and the rotated session keeps its absolute end.
//
// # Second factors
//
// A user must pass a second factor at login when they have a confirmed
// TOTP enrolment or unused recovery codes, when their record says so
// (identity.User.MFARequired), or when they hold any current grant and
// their tenant's policy does not make MFA optional (authz.TenantPolicy).
// Until they do, the session is pending: the verifier returns a principal
// with Pending set and AuthMethods naming only the first factor, and
// the gate opens only the
// routes [PendingAllowed] names (the second factor, enrolment of a first
// factor, the session, logout). Whether a session is pending is decided
// on every request from the session's strong authentication and the
// user's current state, so a user who gains a grant after a password-only
// login is sent to enrol on their next request.
//
// TOTP secrets are sealed ([Sealer]) with the tenant and user id as
// additional data; the last accepted time step is stored, so a code is
// accepted once (identity.Credentials.AcceptTOTPStep). Recovery codes are
// single use and kept as keyed hashes (package recovery). Removing the
// TOTP enrolment and issuing recovery codes need a strong authentication
// within the tenant's step-up window (api.StepUpRequired otherwise).
//
// # Passkeys
//
// With [Config.Passkeys] set, a user registers passkeys
// (POST /v1/me/passkeys/begin and /finish), lists them (GET
// /v1/me/passkeys) and removes them (DELETE /v1/me/passkeys/{id}), and
// passes a passkey as the second factor of a login
// (/v1/auth/mfa/passkey/begin and /finish) or as a step-up
// (/v1/auth/step-up/passkey/begin and /finish). A begin answers the
// options for navigator.credentials and the ceremony state sealed with
// the [Sealer] under associated data naming the session's token hash and
// the purpose (register, mfa, step-up): the client cannot change it, move
// it to another session or finish another purpose with it, and it
// expires with the passkey service's timeout. A passed finish rotates
// the session, so its ceremony cannot be used again, and records
// "passkey" as the strong authentication with its time. Registration
// from a pending session follows the TOTP rule (only for a user without
// a second factor); beside an existing TOTP or passkey it needs a recent
// strong authentication; removal needs one, and the last TOTP-or-passkey
// factor of a user to whom MFA applies is not removed (409
// "last-factor"). Refused assertions and cloned authenticators count
// toward the second-factor lockout. Without Config.Passkeys these routes
// answer 404 "not-configured".
//
// # OIDC
//
// With [Config.OIDC] set, GET /v1/auth/oidc/{provider}/start (public)
// redirects the browser to the provider with the oidc.Pending sealed in
// a cookie ([PendingCookieName], __Secure-, HttpOnly, SameSite=Lax: the
// callback is a cross-site top-level GET; scoped to the callback path;
// ten minutes). GET /v1/auth/oidc/{provider}/callback (public) clears
// that cookie, completes the login (oidc.Client.Finish checks the state,
// PKCE, nonce and ID token) and finds the user in the provider's tenant
// by the provider's account: the link (issuer, subject) of
// identity.Links decides first, whatever e-mail address the provider
// now states, and the linked user must be active. An account without a
// link is matched by its verified e-mail address — or a user is created
// when [Config.OIDCCreateUsers] allows — and linked in the same step
// (the logged-in event says "linked"); a user already linked to another
// subject of the issuer is refused, so an address that passes to another
// person at the provider cannot take the account over. Anyone refused
// gets the answer of a wrong password, and the refusal is audited with
// its reason. It then reconciles the user's standing
// grants made by the provider (GrantedBy "oidc:<provider>") with the
// roles its groups map to (oidc.Client.Roles, roles the tenant knows):
// missing ones are added, unmapped ones revoked, grants made by people or
// elevations never touched; a change is audited (user.roles_synced)
// before it is made. The session records its first factor
// ("oidc"), the provider, amr, acr and auth_time. A login the provider
// made with several factors (oidc.Assurance "oidc-mfa") is not pending,
// but "oidc-mfa" is no step-up: risky actions still need a local TOTP or
// passkey. Otherwise the session is pending as after a password. The
// callback sets the session cookie, hands the CSRF token over in a
// short-lived cookie the page's scripts read ([CSRFCookieName]) and
// redirects to [Config.PostLoginPath].
//
// # Lockout
//
// Failed passwords are counted per tenant and e-mail address and per
// client IP, failed second factors per user, in the identity store
// (identity.Lockouts) so that every node sees the same counts; after
// [LockoutPolicy.MaxFailures] failures within [LockoutPolicy.Window]
// ([LockoutPolicy.MaxClientFailures] for a client IP) the key is locked for [LockoutPolicy.Duration] and answered 429 with
// Retry-After. The answers, and the time a password check takes (an
// unknown user's password is checked against a dummy argon2id hash), are
// the same whether or not the account exists. Every failure
// (user.login_failed) and every lock (user.locked_out) is audited.
package login
