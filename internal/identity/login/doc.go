// Package login is how users log in: password, sessions in cookies, CSRF
// tokens, TOTP and recovery codes as second factors, step-up, and the
// lockout of brute force. It serves the /v1/auth/* and /v1/me/* routes
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
// with Pending set and AuthMethods ["pwd"], and the gate opens only the
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
