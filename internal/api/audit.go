package api

import (
	"net"
	"net/http"

	"github.com/signet-pki/signet/auditlog"
)

// AuditRequest returns the request context of an audit event for r: the
// server's correlation id, the client's own request id, the client IP
// (sensitive in the log) and user agent.
func AuditRequest(r *http.Request) auditlog.Request {
	return auditlog.Request{
		CorrelationID: RequestID(r.Context()), ClientRequestID: ClientRequestID(r.Context()),
		IP: ClientIP(r), UserAgent: r.UserAgent(),
	}
}

// AuditActor returns the audit actor for p.
func AuditActor(p Principal) auditlog.Actor {
	switch p.Kind {
	case PrincipalRecipient:
		return auditlog.Actor{Kind: auditlog.ActorRecipient, ID: p.ID}
	case PrincipalSystem:
		return auditlog.Actor{Kind: auditlog.ActorSystem, ID: p.ID}
	case PrincipalUser:
		return auditlog.Actor{Kind: auditlog.ActorUser, ID: p.ID, AuthMethods: append([]string(nil), p.AuthMethods...)}
	}
	return auditlog.Actor{Kind: auditlog.ActorService, ID: p.ID, AuthMethods: []string{"api_key"}}
}

// ClientIP returns the IP address of r's peer. Signet does not trust
// forwarding headers: it is meant to terminate TLS itself.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
