package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"expvar"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/ca"
	"github.com/signet-pki/signet/crl"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// pkiTSAPolicy is the policy OID of Signet's time-stamp tokens, under the
// arc of ca.OIDAuthEvidence.
var pkiTSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}

// pkiServer is the internal PKI over a data directory: the CA, its OCSP
// responder, CRLs, CA certificates and the TSA, with automatic renewal.
type pkiServer struct {
	data      *pkiData
	authority *ca.Authority
	responder *ocsp.Responder
	crls      *crl.Publisher
	renewer   *ca.Renewer
	logger    *slog.Logger
	now       func() time.Time

	tsa atomic.Pointer[tsa.Server]

	mu    sync.RWMutex
	certs map[string]*x509.Certificate // by role
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
	if data.state.BaseURL == "" {
		data.state.BaseURL = o.BaseURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &pkiServer{data: data, logger: o.Logger, now: o.Now, certs: map[string]*x509.Certificate{}}
	s.crls = &crl.Publisher{Source: data.store, Now: o.Now, Logger: o.Logger}
	s.responder = &ocsp.Responder{Store: data.store, Now: o.Now, Logger: o.Logger}
	s.renewer = &ca.Renewer{Now: o.Now, Logger: o.Logger}
	a, err := ca.New(ca.Config{
		Store:    data.store,
		Recorder: data.log,
		BaseURL:  data.state.BaseURL,
		Now:      o.Now,
		OnRevoke: func(ctx context.Context, r ca.Record) {
			if _, err := s.crls.Regenerate(ctx, r.Issuer); err != nil {
				o.Logger.ErrorContext(ctx, "pki: regenerating CRL after revocation", "ca", r.Issuer, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	s.authority = a
	data.keys.OnRevoke(a.KeyRevocationHook())

	if err := s.loadOrCreateRoot(ctx); err != nil {
		return nil, err
	}
	names := append([]string{ca.PlatformName}, o.Tenants...)
	for _, name := range names {
		tenant := name
		if name == ca.PlatformName {
			tenant = ""
		}
		if err := s.setUpIssuing(ctx, name, tenant); err != nil {
			return nil, err
		}
	}
	for role, r := range data.state.Roles {
		if name, ok := strings.CutPrefix(role, "ca/"); ok && name != ca.RootName && s.cert(role) == nil {
			if err := s.setUpIssuing(ctx, name, r.Tenant); err != nil {
				return nil, err
			}
		}
	}
	if err := s.setUpTSA(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *pkiServer) cert(role string) *x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.certs[role]
}

func (s *pkiServer) setCert(role string, c *x509.Certificate) error {
	if err := s.data.saveCert(role, c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[role] = c
	return nil
}

// current returns the role's certificate if it still certifies the
// active version of its key (a rotated key needs a new certificate).
func (s *pkiServer) current(role string, signer crypto.Signer) *x509.Certificate {
	c := s.cert(role)
	if c == nil || signer == nil {
		return c
	}
	if !certifies(c, signer) {
		return nil
	}
	return c
}

// certifies reports whether c is for signer's public key.
func certifies(c *x509.Certificate, signer crypto.Signer) bool {
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(signer.Public())
}

func (s *pkiServer) loadOrCreateRoot(ctx context.Context) error {
	const role = "ca/" + ca.RootName
	signer, ref, err := s.data.roleKey(ctx, role, keys.PurposeRootCA, keys.ECDSAP384, "")
	if err != nil {
		return err
	}
	c, err := s.data.loadCert(role)
	if err != nil {
		iss, err := s.authority.NewRoot(ctx, signer, ref, 0)
		if err != nil {
			return err
		}
		c = iss.Certificate
	} else if err := s.authority.Register(&ca.Issuer{Name: ca.RootName, Certificate: c, Signer: signer}); err != nil {
		return err
	}
	if err := s.setCert(role, c); err != nil {
		return err
	}
	return s.crls.SetIssuer(ca.RootName, c, signer)
}

// setUpIssuing loads or creates issuing CA name and its OCSP responder,
// and puts both under renewal.
func (s *pkiServer) setUpIssuing(ctx context.Context, name, tenant string) error {
	role := "ca/" + name
	renew := func(ctx context.Context) error {
		signer, ref, err := s.data.roleKey(ctx, role, keys.PurposeIssuingCA, keys.ECDSAP256, tenant)
		if err != nil {
			return err
		}
		iss, err := s.authority.NewIssuing(ctx, ca.IssuingRequest{Name: name, Tenant: tenant, Signer: signer, Key: ref})
		if err != nil {
			return err
		}
		if err := s.setCert(role, iss.Certificate); err != nil {
			return err
		}
		return s.crls.SetIssuer(name, iss.Certificate, signer)
	}
	signer, _, err := s.data.roleKey(ctx, role, keys.PurposeIssuingCA, keys.ECDSAP256, tenant)
	if err != nil {
		return err
	}
	if c, err := s.data.loadCert(role); err == nil {
		if err := s.authority.Register(&ca.Issuer{Name: name, Tenant: tenant, Certificate: c, Signer: signer}); err != nil {
			return err
		}
		if err := s.setCert(role, c); err != nil {
			return err
		}
		if err := s.crls.SetIssuer(name, c, signer); err != nil {
			return err
		}
	} else if err := renew(ctx); err != nil {
		return err
	}
	s.renewer.Add(ca.Renewable{Name: role, Current: func() *x509.Certificate { return s.cert(role) }, Renew: renew})

	orole := "ocsp/" + name
	orenew := func(ctx context.Context) error {
		// The responder key signs OCSP responses on behalf of the issuing
		// CA: purpose issuing-ca, one key per CA.
		osigner, oref, err := s.data.roleKey(ctx, orole, keys.PurposeIssuingCA, keys.ECDSAP256, tenant)
		if err != nil {
			return err
		}
		c, err := s.authority.IssueOCSPResponder(ctx, name, osigner.Public(), oref, 0)
		if err != nil {
			return err
		}
		if err := s.setCert(orole, c); err != nil {
			return err
		}
		return s.responder.SetSigner(ocsp.Signer{CAName: name, CA: s.cert(role), Certificate: c, Key: osigner})
	}
	osigner, _, err := s.data.roleKey(ctx, orole, keys.PurposeIssuingCA, keys.ECDSAP256, tenant)
	if err != nil {
		return err
	}
	if c, err := s.data.loadCert(orole); err == nil && c.CheckSignatureFrom(s.cert(role)) == nil {
		if err := s.setCert(orole, c); err != nil {
			return err
		}
		if err := s.responder.SetSigner(ocsp.Signer{CAName: name, CA: s.cert(role), Certificate: c, Key: osigner}); err != nil {
			return err
		}
	} else if err := orenew(ctx); err != nil {
		return err
	}
	s.renewer.Add(ca.Renewable{Name: orole, Current: func() *x509.Certificate { return s.current(orole, osigner) }, Renew: orenew})
	return nil
}

func (s *pkiServer) setUpTSA(ctx context.Context) error {
	const role = "tsa"
	install := func(signer crypto.Signer, c *x509.Certificate) error {
		if err := s.setCert(role, c); err != nil {
			return err
		}
		s.tsa.Store(&tsa.Server{
			Signer:      signer,
			Certificate: c,
			Chain:       []*x509.Certificate{s.cert("ca/" + ca.PlatformName)},
			Policy:      pkiTSAPolicy,
			Hash:        crypto.SHA256,
			Now:         s.now,
		})
		return nil
	}
	renew := func(ctx context.Context) error {
		signer, ref, err := s.data.roleKey(ctx, role, keys.PurposeTimestamping, keys.ECDSAP256, "")
		if err != nil {
			return err
		}
		c, err := s.authority.IssueTSA(ctx, ca.PlatformName, signer.Public(), ref, 0)
		if err != nil {
			return err
		}
		return install(signer, c)
	}
	signer, _, err := s.data.roleKey(ctx, role, keys.PurposeTimestamping, keys.ECDSAP256, "")
	if err != nil {
		return err
	}
	if c, err := s.data.loadCert(role); err == nil && certifies(c, signer) {
		if err := install(signer, c); err != nil {
			return err
		}
	} else if err := renew(ctx); err != nil {
		return err
	}
	s.renewer.Add(ca.Renewable{Name: role, Current: func() *x509.Certificate { return s.current(role, signer) }, Renew: renew})
	return nil
}

// ServeHTTP routes the PKI's endpoints. /ocsp is matched by prefix before
// any path cleaning, since a GET request's base64 may contain "//".
func (s *pkiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/ocsp" || strings.HasPrefix(p, "/ocsp/"):
		http.StripPrefix("/ocsp", s.responder).ServeHTTP(w, r)
	case strings.HasPrefix(p, "/crl/"):
		http.StripPrefix("/crl", s.crls).ServeHTTP(w, r)
	case strings.HasPrefix(p, "/ca/") && strings.HasSuffix(p, ".crt"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/ca/"), ".crt")
		c := s.cert("ca/" + name)
		if !ca.ValidName(name) || c == nil {
			http.NotFound(w, r)
			return
		}
		// RFC 5280 §4.2.2.1: a single DER certificate,
		// application/pkix-cert.
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(c.Raw)
	case p == "/tsa":
		s.tsa.Load().ServeHTTP(w, r)
	case p == "/metrics":
		// expvar-style JSON counters for alerting on failed renewals.
		m := new(expvar.Map)
		m.Set("signet_pki_renewals", &s.renewer.Renewals)
		m.Set("signet_pki_renewal_failures", &s.renewer.Failures)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, m.String())
	default:
		http.NotFound(w, r)
	}
}

// renewLoop checks renewals every interval until ctx ends.
func (s *pkiServer) renewLoop(ctx context.Context, interval time.Duration) {
	s.renewer.Run(ctx, interval)
}
