// Package remote carries the key boundary of a split deployment over the
// network: the api role's key manager keeps metadata, purposes, states
// and the audit trail, but its [keys.Backend] is a [Client] that asks the
// signer role to generate, sign, wrap, unwrap, MAC and destroy; the
// signer serves only that RPC ([NewHandler]) over the real backend (the
// sealed software store, which needs the master key, or a PKCS#11 token,
// which needs the PIN). Key material never crosses the wire: requests
// carry handles, digests, data keys to wrap and data to MAC; answers
// carry public keys, signatures and wrapped or unwrapped data keys.
//
// A signer may serve further backends beside its default one
// ([HandlerConfig.Backends], such as a PKCS#11 token beside the software
// store); a request names the one it means ([Request.Backend]), and
// [Client.Backends] gives the api role one [keys.Backend] per backend the
// signer named at dial, so that key metadata naming any of them
// resolves.
//
// # Transport
//
// HTTPS with TLS 1.3 and mutual authentication. The signer mints, in
// memory at each start, a transport CA ([NewTransportCA]) that issues its
// own server certificate and the api role's client certificates; the
// role of each is named in a URI SAN ([RoleAPI], [RoleSigner]) and its
// extended key usage. The api role obtains its certificate by enrolment:
// it connects with a self-signed certificate for a fresh in-memory key
// and proves knowledge of the enrolment key (an HMAC over that public
// key, a nonce and the time); the signer answers with a client
// certificate and the transport CA, MACed with the same key over the
// nonce, which the api role checks before trusting either. The enrolment
// key derives from the master key (the service key, see
// internal/datadir), so the api role needs no key backend credential.
// Both certificates are short-lived and renewed in the background
// ([CertHolder]); TLS picks the current one through GetCertificate and
// GetClientCertificate.
//
// The signer refuses at the handshake a client without a certificate, or
// with one that neither chains to the transport CA nor is a self-signed
// enrolment certificate; every key operation further requires a client
// certificate of the transport CA for the api role. Requests are bounded
// ([MaxRequestSize]) and strictly decoded ([DecodeRequest]); every
// refusal is an [Error] with a code and a message; the signer logs
// operations and handles, never material.
package remote
