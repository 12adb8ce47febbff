// Package signing is the recipient side of Signet: link tokens, email
// one-time codes, recipient sessions, the per-recipient PAdES signature and
// the completion seal.
//
// # Links
//
// When a recipient's turn comes, the workflow calls [Notifier.Notify] (a
// workflow.Notifier). It issues a link token of 32 random bytes (256 bits,
// base64url without padding), stores only its SHA-256 bound to that one
// recipient of that one envelope with an expiry (seven days by default,
// never later than the envelope's), and emails a link that carries the
// token in the URL fragment, so that it never reaches a server log, a
// proxy or a Referer header.
//
// # Authentication
//
// Clients send tokens in the Authorization header, never in a path or a
// query (which access logs, browser history and Referer headers keep):
//
//	Authorization: Link <link token>        POST /v1/recipient/code, /verify, /passkey/begin, /passkey/finish
//	Authorization: Session <session token>  every other /v1/recipient/ route
//
// What the recipient proves besides holding the link depends on their
// authentication level, set when the envelope was created
// (workflow.Recipient.Auth):
//
//   - email_code (the default): POST /v1/recipient/code emails a six-digit
//     one-time code (in the body, never the subject).
//   - sms_code: POST /v1/recipient/code sends the code by SMS to the
//     recipient's E.164 number through [Config.SMS], an [SMSSender]
//     (package internal/mail/sms implements it on an HTTP gateway). With
//     none configured no code is made (503), and the workflow refuses
//     such recipients at creation unless its SMSGateway option is on.
//   - access_code: the recipient enters the code the sender gave them out
//     of band, checked against its argon2id hash; no code is sent (409
//     no-code-to-send). The link still goes by e-mail.
//   - link_only: no further proof. The envelope must allow it and so must
//     the service ([Config.AllowLinkOnly], off by default), checked at
//     every verification (403 link-only-disabled otherwise).
//   - passkey: the registered user of the envelope's tenant with the
//     recipient's address confirms with one of their passkeys what the
//     recipient will sign (see "Passkey confirmation" below). Their link
//     sends and verifies no code (401 passkey-required).
//   - totp: the registered user of the envelope's tenant with the
//     recipient's address (an active user, [Config.Users]) enters a code
//     of their confirmed TOTP enrolment ([Config.TOTPEnrolments]; the
//     secret opened by [Config.TOTPSecrets], the login service's sealing
//     rule); nothing is sent (409 no-code-to-send). The code is checked
//     with totp.Verify after the enrolment's last accepted step and its
//     step accepted by the store's compare-and-set, so a code used once,
//     here or at login, is refused. No such user, a disabled one or no
//     confirmed enrolment is 403 totp-unavailable, never a weaker method.
//
// One-time codes are stored as keyed hashes with a ten-minute expiry;
// sends are rate-limited per recipient. POST /v1/recipient/verify compares
// a code in constant time, and every attempt is audited as
// recipient.authenticated (success, failure or denial) with the level and
// its RFC 8176 amr values: "otp" and "email", "otp" and "sms", "pwd" for
// an access code, "email" alone for a link-only link, "otp" and "user"
// for a TOTP code. A successful verification yields a short-lived
// session bound to the same recipient, which keeps those methods and the
// assurance reached (NIST SP 800-63B "aal1"; "none" for link-only;
// "aal2" for TOTP) for the signer certificate. A link or
// session never grants more than its own recipient's actions, and a
// document id grants nothing outside the session's envelope.
//
// Every session route establishes the recipient principal
// ([Session.Principal]: the recipient of the session's envelope, with its
// amr values and, for a passkey or TOTP session, the strong
// authentication "passkey" or "totp" at the confirmation's time) and
// asks the request's authorizer (api.Authorize, installed by the
// router's gate) for the route's action with the envelope's stored
// facts: envelope.read or document.read to look, envelope.sign to
// consent, sign or decline. On a high-assurance envelope envelope.sign
// needs a strong authentication within the tenant's step-up window
// (internal/authz), which only a passkey confirmation or a TOTP code
// gives a recipient. Without an authorizer in the context the routes
// answer 500: the check is never skipped.
//
// Every link and session authentication reads the envelope's state: once
// the envelope is completed, declined, voided or expired, all its links
// and sessions answer 410 (envelope-ended) and nothing is sent or shown,
// with one exception: a recipient who completed their part keeps, for the
// rest of their session's lifetime, the download of a completed
// envelope's documents (GET /v1/recipient/documents/{id},
// [Service.CopySession]): their copy of what they signed, which the
// ceremony's last page offers even when their signature completed it.
//
// # Passkey confirmation
//
// A passkey recipient is an active, registered user ([Config.Users]) of
// the envelope's tenant with the recipient's e-mail address and at least
// one passkey; anything else is refused (403 passkey-unavailable), never
// answered with a weaker method. [Service.BeginPasskey] (POST
// /v1/recipient/passkey/begin) returns WebAuthn request options from
// [Config.Passkeys] whose challenge binds the exact document versions
// the recipient is about to sign: passkey.SigningChallenge([IntentDigest]
// of the versions, envelope id, recipient id), where the digest of one
// document is its SHA-256 and that of several a domain-separated hash of
// the ordered (document id, SHA-256) list. The ceremony is kept in the
// recipient's state, sealed (AES-256-GCM under a key derived from
// [Config.CodeKey], bound to the recipient), with the relying party's
// expiry, for one use. [Service.FinishPasskey] (POST
// /v1/recipient/passkey/finish) takes it out, checks that the documents
// have not changed (409 passkey-confirmation-outdated), has the relying
// party verify the assertion (origin, RP ID, challenge, user
// verification, the user's credential, signature, counter), refuses an
// assertion the recipient already used ([AuthState.UsedAssertions]: a
// passkey without a counter cannot replay one), and opens a session as a
// verified code does. Its amr values and assurance follow NIST SP
// 800-63B-4 by the passkey's BE flag: "hwk" and "user" at "aal3" for a
// device-bound passkey, "swk" and "user" at "aal2" for a synced one. The
// session keeps the [Intent] (the versions, the digest, the challenge,
// the assertion's DER evidence). Refused assertions count toward the
// lockout below like wrong codes.
//
// A passkey recipient, and every recipient of a high-assurance envelope
// (whose signers and approvers the workflow requires to be passkey or
// totp recipients) other than a totp recipient in the session their
// TOTP code opened, signs only in a passkey session ([ErrPasskeyRequired]),
// and only the versions its intent approved: if another signer of a
// parallel group signed a document since, [Service.Sign] refuses with
// [ErrIntentOutdated] (409) before anything is issued or signed, and the
// recipient confirms the current versions again. Each signer certificate
// then carries the intent in its authentication-evidence extension
// (pki/ca's SigningIntent: digest, envelope, recipient, challenge and
// evidence), which passkey.VerifySigningEvidence re-checks offline with
// the passkey's public key; the signature.created and key.used events
// record the method, its time, the digest and the SHA-256 of the
// evidence (the evidence itself, up to 4 KiB, is in the certificate).
//
// # Lockouts
//
// Five wrong codes, of any kind (e-mailed, SMS, access or TOTP codes),
// lock the recipient out, for longer each time
// ([DefaultLockouts]: fifteen minutes, an hour, a day); the run after the
// last lockout revokes the recipient's links (410 link-revoked). The
// counters are stored with the code state and cleared only when the sender
// re-issues the link ([Service.Reissue], POST
// /v1/envelopes/{id}/recipients/{recipient}/reissue), which revokes every
// earlier link. Lockouts are audited as recipient.locked_out, re-issues as
// recipient.link_reissued.
//
// A recipient's code state is read and replaced under the recipient's
// lock from [Config.Locks]; nodes that share the Store share the Locker,
// so that wrong codes sent to any of them count toward one schedule.
// Sessions are read from the Store on every request, so that a re-issue
// on one node ends them on all.
//
// # Signatures
//
// [Service.Sign] signs every document of the envelope that the recipient
// has not signed yet, one at a time under the workflow's document lock: a
// key generated in the configured backend, certified for ten minutes by
// the tenant's issuing CA to the recipient's verified name and email with
// the authentication evidence of the session (its amr values and
// assurance, and for a passkey session the signing intent, see above;
// signature.created records the method "passkey" or "totp" and its
// time for a strong session), a
// PAdES B-T approval
// signature time-stamped by the built-in TSA (no time-stamp, no
// signature), the new revision stored in the blob store, and the workflow
// told. The key is destroyed after use.
//
// # Construction
//
// The workflow calls the signing side to notify recipients and to seal
// completed envelopes, and the signing side calls the workflow for
// everything else: build the [Notifier] and the [Sealer] first (they need
// nothing of the workflow), pass them to workflow.New, then build the
// [Service] over that workflow with [New].
//
// # Completion
//
// [Sealer.Complete] (a workflow.Completer) seals each document with the
// tenant's seal key and a seal certificate from its issuing CA, then adds
// the DSS with the validation data of every signature and a document
// time-stamp: PAdES B-LTA (ETSI EN 319 142-1 §6).
package signing
