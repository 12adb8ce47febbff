package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
)

// pkiServer is the internal PKI over a data directory: the roles of
// [pki] with automatic renewal, and a /metrics endpoint.
type pkiServer struct {
	*pki.PKI
	data      *pkiData
	authority *ca.Authority
	renewer   *ca.Renewer
}

// pkiOptions configure openPKI.
type pkiOptions struct {
	// BaseURL is written into certificates on first run.
	BaseURL string
	// Tenants get an issuing CA each (created when missing).
	Tenants []string
	Logger  *slog.Logger
	Now     func() time.Time
}

// openPKI loads the PKI from data, creating whatever is missing: on first
// run the root, the platform CA, the tenants' CAs, an OCSP responder per
// issuing CA and the TSA.
func openPKI(ctx context.Context, data *pkiData, o pkiOptions) (*pkiServer, error) {
	baseURL := data.roles.SetBaseURL(o.BaseURL)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &pkiServer{data: data, renewer: &ca.Renewer{Now: o.Now, Logger: o.Logger}}
	crls := &crl.Publisher{Source: data.store, Now: o.Now, Logger: o.Logger}
	a, err := ca.New(ca.Config{
		Store:    data.store,
		Recorder: data.log,
		BaseURL:  baseURL,
		Now:      o.Now,
		OnRevoke: func(ctx context.Context, r ca.Record) {
			if _, err := crls.Regenerate(ctx, r.Issuer); err != nil {
				o.Logger.ErrorContext(ctx, "pki: regenerating CRL after revocation", "ca", r.Issuer, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	s.authority = a
	data.keys.OnRevoke(a.KeyRevocationHook())
	if s.PKI, err = pki.New(pki.Config{
		Store: data.roles, Authority: a, CRLs: crls, Renewer: s.renewer, Now: o.Now,
		OCSP: &ocsp.Responder{Store: data.store, Now: o.Now, Logger: o.Logger},
	}); err != nil {
		return nil, err
	}
	if err := s.SetUp(ctx, o.Tenants); err != nil {
		return nil, err
	}
	// Tenants of earlier runs not named this time.
	for name, tenant := range data.roles.Tenants() {
		if s.Cert("ca/"+name) == nil {
			if err := s.Issuing(ctx, name, tenant); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// ServeHTTP serves the PKI's endpoints ([pki.PKI.ServeHTTP]) and
// /metrics: JSON counters (in expvar's format, without importing expvar)
// for alerting on failed renewals.
func (s *pkiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		s.PKI.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"signet_pki_renewal_failures\": %d, \"signet_pki_renewals\": %d}\n",
		s.renewer.Failures.Load(), s.renewer.Renewals.Load())
}

// renewLoop checks renewals every interval until ctx ends.
func (s *pkiServer) renewLoop(ctx context.Context, interval time.Duration) {
	s.renewer.Run(ctx, interval)
}
