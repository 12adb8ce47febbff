// Package tsa implements the RFC 3161 Time-Stamp Protocol for Signet: the
// request, response and TSTInfo encodings, a client that asks time-stamp
// authorities for tokens and fails closed, verification of tokens, and a
// time-stamp authority served over HTTP.
//
// A time-stamp token is a CMS SignedData (RFC 5652) whose encapsulated
// content is a DER TSTInfo (RFC 3161 §2.4.2). Tokens made by [Server] carry
// the ESS signing-certificate-v2 attribute of RFC 5816, and [Token.Verify]
// checks that binding together with the requirements of RFC 3161 §2.3 on the
// TSA certificate.
//
// # Requesting tokens
//
// [Client.Timestamp] sends a [Request] with a fresh random nonce and
// certReq set to each configured URL in turn. An answer counts only when its
// status is granted, the nonce and message imprint are echoed, the requested
// policy (if any) is honoured and the token verifies. When no URL yields such
// a token the call fails with an error wrapping [ErrNoToken]; the client never
// invents a time and never reports success without a verified token.
//
// # Serving tokens
//
// [Server] is an [net/http.Handler] that answers POSTed
// application/timestamp-query bodies (RFC 3161 §3.4) with
// application/timestamp-reply. It signs through a [crypto.Signer], so the key
// may live in software, a PKCS#11 token or a KMS. [Server.Respond] offers the
// same without HTTP.
//
// # Certificates
//
// RFC 3161 §2.3 requires the TSA certificate to carry exactly one extended
// key usage, id-kp-timeStamping, in a critical extension. [Token.Verify]
// enforces this and reports violations with [ErrEKU].
package tsa
