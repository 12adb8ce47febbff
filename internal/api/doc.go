// Package api is Signet's HTTP infrastructure: the conventions every
// handler package follows (errors as RFC 9457 problem details, strict JSON,
// principals and the action gate), the middleware that [server] wraps around the
// router (request ids, access logs, authentication, rate limits,
// idempotency, body limits), health probes and the assembled OpenAPI 3.1
// document. It knows principals and actions, not how they are stored:
// tenants and API keys are package internal/accounts.
//
// # Errors
//
// Domain packages never choose HTTP status codes. They return an [*Error]
// carrying an HTTP-agnostic [Kind] (or wrap one with %w), and handlers
// answer every failure with [WriteProblem], which maps the kind to a status
// and writes an RFC 9457 problem+json body whose "type" is
// https://signet.dev/problems/<slug>. The slug comes from [Error.Type] when
// set, else from the kind (for example "not-found"); slugs are stable API.
// A few conditions need no wrapping: [http.MaxBytesError] becomes 413
// "too-large", and any other error becomes a 500 "internal" problem whose
// detail never repeats the error text (it is logged with the request id).
//
// Kind to status: [KindInvalid] 422 (400 with Type "malformed-json" for
// syntax errors), [KindUnauthorized] 401, [KindForbidden] 403,
// [KindNotFound] 404, [KindConflict] 409, [KindTooLarge] 413,
// [KindUnsupportedMedia] 415, [KindRateLimited] 429, [KindUnavailable] 503.
//
// # Principals
//
// The authentication middleware ([Authenticator]) turns a bearer
// credential into a [Principal] through a [CredentialVerifier], which
// package internal/accounts implements over the stored API keys, and puts
// the principal in the request context (without an Authorization header,
// a user's session cookie through a [SessionVerifier], which checks the
// CSRF token of unsafe methods); handlers read it with
// [PrincipalFrom] and take the tenant from it, never from the request. The
// [Gate] checks each route's declared action with an [Authorizer];
// handlers ask [Authorize] about the facts of the resource they load. Routes under /v1/recipient/ are not API-key
// authenticated: their handlers authenticate recipient link tokens
// themselves.
//
// # Strict JSON and secrets
//
// [DecodeJSON] refuses unknown fields, duplicate keys and keys that match
// a field only case-insensitively ([UnmarshalStrict]). A handler whose
// response carries a secret shown once (a new API key, a session token)
// writes it with [WriteSecretJSON], so that the idempotency middleware
// keeps no copy of it.
//
// # Request ids
//
// Every request gets the server's own id ([RequestID], X-Request-Id in
// the response), the correlation id of its log lines and audit events; a
// client's X-Request-Id is kept beside it ([ClientRequestID]).
//
// # Routes
//
// Each handler package exposes Register(mux api.Mux) and registers its
// routes with method and path patterns ("POST /v1/envelopes"); [Mux] is
// satisfied by [*http.ServeMux] and by the recording [Router] the server
// uses, so the OpenAPI test can check every registered route against the
// document. Each package also embeds an OpenAPI 3.1 fragment (paths and
// components) exported as var OpenAPI []byte; [MergeOpenAPI] assembles
// them into /v1/openapi.json.
//
// # Middleware order
//
// [Chain] builds, from the outside in: request id and request logger
// ([Logger]), panic recovery, access log, body size limit, per-IP rate limit,
// API-key authentication, per-key rate limit, idempotency, then the
// [http.ServeMux] with the handlers. Rate limits are stricter for routes
// whose registered handler is wrapped in [Sensitive].
//
// # Storage
//
// Idempotency records live behind [IdempotencyStore]; package
// internal/api/sqlite implements it on SQLite. Schema migration versions in
// the service database (signet.db) are allocated in blocks of 100 per
// package: api (with the tenants and API keys tables of accounts, created
// with it) 100–199, workflow 200–299, signing 300–399, the server's PKI
// roles 400–499, accounts' later migrations 500–599.
package api
