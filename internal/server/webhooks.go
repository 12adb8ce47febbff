package server

import (
	"context"

	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/workflow"
)

// WebhookConfig is the "webhooks" section of the configuration: the
// SSRF guard of the delivery of events to the tenants' endpoints and the
// asymmetric signatures.
type WebhookConfig struct {
	// AllowPrivateNetworks lets endpoints be, or resolve to, loopback,
	// private, link-local and other non-public addresses (on-premises
	// receivers, tests). Off by default.
	AllowPrivateNetworks bool `json:"allow_private_networks"`
	// AllowHTTP accepts http:// endpoint URLs besides https://. Off by
	// default.
	AllowHTTP bool `json:"allow_http"`
	// Asymmetric adds to every delivery a v1a Ed25519 signature by the
	// tenant's key, published at GET /v1/webhooks/public-key. Off by
	// default.
	Asymmetric bool `json:"asymmetric"`
}

// openWebhooks builds the webhook service over the store beside the
// envelopes (so that an envelope's change and its events commit
// together), sealing the endpoints' secrets with the keys at rest. Without
// keys at rest (a test option) there is no service: the routes answer
// 404 and no event is queued. [Server.Run] starts its delivery worker on
// every node: deliveries are claimed row by row, never sent twice at once.
func (s *Server) openWebhooks(o options) error {
	if s.keyRing == nil || s.stores.Webhooks == nil {
		return nil
	}
	var err error
	s.webhooks, err = webhook.New(webhook.Config{
		Store: s.stores.Webhooks, Keys: s.keyRing,
		Guard: &webhook.Guard{
			AllowPrivateNetworks: s.cfg.Webhooks.AllowPrivateNetworks,
			AllowHTTP:            s.cfg.Webhooks.AllowHTTP,
		},
		Asymmetric: s.cfg.Webhooks.Asymmetric,
		Now:        o.now, Logger: o.logger,
	})
	return err
}

// runWebhooks delivers the outbox until ctx ends (nil service: nothing).
func (s *Server) runWebhooks(ctx context.Context) {
	if s.webhooks != nil {
		s.webhooks.Run(ctx)
	}
}

// Webhooks returns the webhook service (nil without keys at rest), for
// what else enqueues events (alerts: [webhook.Service.Notify]).
func (s *Server) Webhooks() *webhook.Service { return s.webhooks }

// workflowWebhooks is the workflow's view of the service: nil (no
// events) without one.
func (s *Server) workflowWebhooks() workflow.WebhookEvents {
	if s.webhooks == nil {
		return nil
	}
	return s.webhooks
}
