package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/alert"
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
	// PlatformEndpoints are the platform's own endpoints, for the alerts
	// that concern no tenant (its authorities, certificates, audit log).
	PlatformEndpoints []PlatformEndpoint `json:"platform_endpoints,omitempty"`
}

// A PlatformEndpoint is an endpoint of the platform's operator.
type PlatformEndpoint struct {
	// Name identifies it (1-32 of a-z, 0-9, -); its id is wh_platform_NAME.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Events it receives; empty means alert.raised.
	Events []string `json:"events,omitempty"`
	// SecretEnv names the environment variable holding its signing
	// secret (whsec_…), never the configuration file.
	SecretEnv string `json:"secret_env"`
}

// validate checks the platform endpoints' settings.
func (c WebhookConfig) validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range c.PlatformEndpoints {
		at := fmt.Sprintf("webhooks.platform_endpoints[%d]", i)
		switch {
		case p.Name == "" || len(p.Name) > 32 || strings.Trim(p.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "":
			errs = append(errs, fmt.Errorf("%s.name %q: 1-32 of a-z, 0-9 and -", at, p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("%s.name %q given twice", at, p.Name))
		}
		seen[p.Name] = true
		if p.URL == "" {
			errs = append(errs, fmt.Errorf("%s.url is empty", at))
		}
		if p.SecretEnv == "" {
			errs = append(errs, fmt.Errorf("%s.secret_env is empty: the secret comes from the environment", at))
		}
	}
	return errs
}

// platformEndpoints creates or updates the configured platform
// endpoints, each with the secret from its environment variable.
func (s *Server) platformEndpoints(ctx context.Context, o options) error {
	for _, p := range s.cfg.Webhooks.PlatformEndpoints {
		v := o.secretOf(p.SecretEnv)
		if v == "" {
			return fmt.Errorf("server: webhooks.platform_endpoints %s: $%s is empty", p.Name, p.SecretEnv)
		}
		sec, err := webhook.ParseSecret(v)
		if err != nil {
			return fmt.Errorf("server: webhooks.platform_endpoints %s: $%s is not a whsec_ secret", p.Name, p.SecretEnv)
		}
		events := p.Events
		if len(events) == 0 {
			events = []string{webhook.EventAlert}
		}
		if _, err := s.webhooks.EnsurePlatformEndpoint(ctx, p.Name, p.URL, events, sec); err != nil {
			return fmt.Errorf("server: webhooks.platform_endpoints %s: %w", p.Name, err)
		}
	}
	return nil
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
		OnAttempt: s.obs.metrics.WebhookDelivered,
	})
	if err != nil {
		return err
	}
	if m := s.obs.metrics; m != nil {
		m.WebhookBacklog(s.webhooks.Backlog)
	}
	if err := s.platformEndpoints(context.Background(), o); err != nil {
		return err
	}
	if s.alerts != nil {
		s.alerts.AddSink(webhookAlerts{s.webhooks})
	}
	s.observeAudit()
	return nil
}

// observeAudit (re)sets the audit log's observer: the metrics', the
// alert engine's and the webhooks' of the audited events they announce,
// each of those that is open.
func (s *Server) observeAudit() {
	var alerts, webhooks auditlog.Observer
	if s.alerts != nil {
		alerts = s.alerts.ObserveAppend
	}
	if s.webhooks != nil {
		webhooks = announceAudited(s.webhooks, s.logger)
	}
	s.audit.log.SetObserver(auditlog.JoinObservers(s.obs.auditObserver(), alerts, webhooks))
}

// announceAudited is the audit log observer that announces, once an
// event is durable, what only the audit log sees: a tenant's key rotated
// (key.rotated, by the key manager). Like recipient.viewed, the message
// is queued after the fact: a crash between the record and the queue
// loses the announcement, never the record.
func announceAudited(w *webhook.Service, logger *slog.Logger) auditlog.Observer {
	return func(ctx context.Context, e auditlog.Event) (context.Context, func(error)) {
		if e.Type != auditlog.KeyRotated || e.Outcome != auditlog.OutcomeSuccess || e.Tenant == "" {
			return ctx, func(error) {}
		}
		return ctx, func(err error) {
			if err != nil {
				return
			}
			data := map[string]string{"key_id": e.Subject.KeyID, "key_version": e.Subject.KeyVersion, "purpose": e.Details["purpose"]}
			if err := w.Notify(context.WithoutCancel(ctx), e.Tenant, webhook.EventKeyRotated, data); err != nil {
				logger.Warn("webhook: key.rotated not queued", "tenant", e.Tenant, "error", err)
			}
		}
	}
}

// webhookAlerts delivers alerts to webhook endpoints: a tenant's to its
// endpoints, the platform's (tenant "") to the configured platform
// endpoints (alert.raised; certificate.expiring as well for certificates
// within their renewal margin).
type webhookAlerts struct{ w *webhook.Service }

// Deliver implements alert.Sink.
func (d webhookAlerts) Deliver(ctx context.Context, a alert.Alert) error {
	data := map[string]any{"rule": string(a.Rule), "severity": string(a.Severity), "subject": a.Subject,
		"summary": a.Summary, "details": a.Details, "time": a.Time.UTC()}
	if err := d.w.Notify(ctx, a.Tenant, webhook.EventAlert, data); err != nil {
		return err
	}
	if a.Rule == alert.RuleCertificateRenewal {
		return d.w.Notify(ctx, a.Tenant, webhook.EventCertificateExpiring, a.Details)
	}
	return nil
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
