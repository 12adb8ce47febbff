package remote

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/keys"
)

// HandlerConfig configures [NewHandler].
type HandlerConfig struct {
	// Backend holds the keys: the sealed software store or a PKCS#11
	// token. It is the default backend of requests that name none.
	Backend keys.Backend
	// Backends are further backends (such as a PKCS#11 token beside the
	// software store), which a request chooses by name
	// ([Request.Backend]); names must be distinct.
	Backends []keys.Backend
	// CA is the transport CA: the api role's client certificates must
	// chain to it, and enrolments get theirs from it.
	CA *TransportCA
	// EnrolmentKey authenticates enrolments ([EnrolmentKeySize] bytes).
	EnrolmentKey []byte
	// ClientValidity is the validity of the client certificates issued
	// at enrolment (0: [DefaultCertValidity]).
	ClientValidity time.Duration
	// Logger receives one line per refusal and failure: operation,
	// handle, reason; never key material (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: the CA's).
	Now func() time.Time
}

// handler serves the RPC.
type handler struct {
	cfg HandlerConfig
	now func() time.Time
	// others are cfg.Backends by name.
	others map[string]keys.Backend
}

// NewHandler returns the signer's RPC handler over cfg.Backend. It
// expects a TLS connection configured by [ServerTLS]: it refuses a
// request whose peer certificate is not, for the key operations, an api
// role certificate of cfg.CA, or, for an enrolment, a self-signed
// enrolment certificate with a valid proof.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Backend == nil || cfg.CA == nil {
		return nil, errors.New("remote: handler needs a backend and a transport CA")
	}
	if len(cfg.EnrolmentKey) != EnrolmentKeySize {
		return nil, fmt.Errorf("remote: enrolment key of %d bytes, want %d", len(cfg.EnrolmentKey), EnrolmentKeySize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg, now: cfg.Now, others: map[string]keys.Backend{}}
	for _, b := range cfg.Backends {
		if b == nil || b.Name() == "" {
			return nil, errors.New("remote: a further backend without a name")
		}
		if _, dup := h.others[b.Name()]; dup || b.Name() == cfg.Backend.Name() {
			return nil, fmt.Errorf("remote: backend %q served twice", b.Name())
		}
		h.others[b.Name()] = b
	}
	if h.now == nil {
		h.now = cfg.CA.now
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if r.Method != http.MethodPost || !ok {
		h.refuse(w, r, "", http.StatusNotFound, CodeBadRequest, "the signer serves POST /v1/OPERATION only")
		return
	}
	if _, known := fields[op]; !known {
		h.refuse(w, r, op, http.StatusNotFound, CodeBadRequest, fmt.Sprintf("unknown operation %q", truncate(op)))
		return
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		h.refuse(w, r, op, http.StatusForbidden, CodeForbidden, "no client certificate")
		return
	}
	peer := r.TLS.PeerCertificates
	if op != OpEnrol {
		if err := verifyRole(peer, h.cfg.CA.pool, x509.ExtKeyUsageClientAuth, RoleAPI, h.now()); err != nil {
			h.refuse(w, r, op, http.StatusForbidden, CodeForbidden, err.Error())
			return
		}
	} else if !isEnrolmentCert(peer[0]) {
		h.refuse(w, r, op, http.StatusForbidden, CodeForbidden, "an enrolment needs a self-signed enrolment certificate")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	if err != nil {
		h.refuse(w, r, op, http.StatusRequestEntityTooLarge, CodeBadRequest, fmt.Sprintf("request body over %d bytes or unreadable", MaxRequestSize))
		return
	}
	req, err := DecodeRequest(op, body)
	clear(body)
	if err != nil {
		h.refuse(w, r, op, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	resp, err := h.do(r.Context(), op, req, peer[0])
	clear(req.Data)
	if err != nil {
		status, code := http.StatusInternalServerError, CodeFailed
		switch {
		case errors.Is(err, errForbidden):
			status, code = http.StatusForbidden, CodeForbidden
		case errors.Is(err, keys.ErrKeyNotFound):
			status, code = http.StatusNotFound, CodeNotFound
		case errors.Is(err, keys.ErrUnsupportedAlgorithm):
			status, code = http.StatusBadRequest, CodeUnsupported
		case errors.Is(err, keys.ErrBackendUnavailable):
			status, code = http.StatusServiceUnavailable, CodeUnavailable
		}
		h.refuse(w, r, op, status, code, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	b, err := json.Marshal(resp)
	if err != nil {
		h.refuse(w, r, op, http.StatusInternalServerError, CodeFailed, "encoding the answer failed")
		return
	}
	_, _ = w.Write(b)
	clear(b)
	clear(resp.Data)
}

var errForbidden = errors.New("forbidden")

// refuse answers a refusal and logs it: operation, reason, peer address;
// never the request's data.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, op string, status int, code, msg string) {
	h.cfg.Logger.WarnContext(r.Context(), "signer: request refused", "op", truncate(op), "code", code, "reason", msg, "peer", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&Error{Code: code, Message: msg})
}

// do carries out op.
func (h *handler) do(ctx context.Context, op string, req *Request, peer *x509.Certificate) (*Response, error) {
	b := h.cfg.Backend
	if req.Backend != "" {
		var ok bool
		if b, ok = h.others[req.Backend]; !ok {
			return nil, fmt.Errorf("%w: the signer serves no backend %q", keys.ErrBackendUnavailable, truncate(req.Backend))
		}
	}
	switch op {
	case OpInfo:
		resp := &Response{Backend: b.Name(), Capabilities: capabilities(b)}
		for _, o := range h.cfg.Backends {
			resp.Backends = append(resp.Backends, o.Name())
		}
		return resp, nil
	case OpGenerate, OpGenerateSession:
		gen := b.Generate
		if op == OpGenerateSession {
			sg, ok := b.(keys.SessionGenerator)
			if !ok {
				return nil, fmt.Errorf("%w: backend %s makes no session keys", keys.ErrUnsupportedAlgorithm, b.Name())
			}
			gen = sg.GenerateSession
		}
		handle, pub, err := gen(ctx, req.Algorithm, req.Label)
		if err != nil {
			return nil, err
		}
		resp := &Response{Handle: handle}
		if pub != nil {
			if resp.Public, err = x509.MarshalPKIXPublicKey(pub); err != nil {
				return nil, fmt.Errorf("public key of %s: %w", handle, err)
			}
		}
		return resp, nil
	case OpPublic:
		s, err := b.Signer(ctx, req.Handle)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(s.Public())
		if err != nil {
			return nil, err
		}
		return &Response{Public: der}, nil
	case OpSign:
		s, err := b.Signer(ctx, req.Handle)
		if err != nil {
			return nil, err
		}
		var opts crypto.SignerOpts = req.Hash
		if req.PSS {
			opts = &rsa.PSSOptions{SaltLength: req.PSSSaltLength, Hash: req.Hash}
		}
		sig, err := s.Sign(rand.Reader, req.Digest, opts)
		if err != nil {
			return nil, fmt.Errorf("sign with %s: %w", req.Handle, err)
		}
		return &Response{Data: sig}, nil
	case OpDestroy:
		return &Response{}, b.Destroy(ctx, req.Handle)
	case OpWrap, OpUnwrap:
		wr, ok := b.(keys.Wrapper)
		if !ok {
			return nil, fmt.Errorf("%w: backend %s cannot wrap", keys.ErrUnsupportedAlgorithm, b.Name())
		}
		f := wr.Wrap
		if op == OpUnwrap {
			f = wr.Unwrap
		}
		out, err := f(ctx, req.Handle, req.Data, req.AAD)
		if err != nil {
			return nil, fmt.Errorf("%s with %s: %w", op, req.Handle, err)
		}
		return &Response{Data: out}, nil
	case OpMAC:
		mc, ok := b.(keys.MACer)
		if !ok {
			return nil, fmt.Errorf("%w: backend %s cannot MAC", keys.ErrUnsupportedAlgorithm, b.Name())
		}
		tag, err := mc.MAC(ctx, req.Handle, req.Data)
		if err != nil {
			return nil, fmt.Errorf("mac with %s: %w", req.Handle, err)
		}
		return &Response{Data: tag}, nil
	case OpEnrol:
		return h.enrol(req, peer)
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

// enrol checks an enrolment's proof and issues the api role's client
// certificate for the enrolment certificate's key.
func (h *handler) enrol(req *Request, peer *x509.Certificate) (*Response, error) {
	now := h.now()
	if d := now.Sub(time.Unix(req.Time, 0)); d > enrolSkew || d < -enrolSkew {
		return nil, fmt.Errorf("%w: enrolment time is %s away from the signer's clock", errForbidden, d.Round(time.Second))
	}
	want := enrolProof(h.cfg.EnrolmentKey, peer.RawSubjectPublicKeyInfo, req.Nonce, req.Time)
	if !hmac.Equal(want, req.Proof) {
		return nil, fmt.Errorf("%w: enrolment proof does not match (a wrong service key?)", errForbidden)
	}
	c, err := h.cfg.CA.Issue(peer.PublicKey, RoleAPI, nil, h.cfg.ClientValidity)
	if err != nil {
		return nil, err
	}
	ca := h.cfg.CA.cert.Raw
	return &Response{Certificate: c.Raw, CA: ca, CAMAC: enrolAnswerMAC(h.cfg.EnrolmentKey, req.Nonce, ca, c.Raw)}, nil
}

// capabilities lists the optional interfaces b has.
func capabilities(b keys.Backend) []string {
	var c []string
	if _, ok := b.(keys.Wrapper); ok {
		c = append(c, "wrap")
	}
	if _, ok := b.(keys.MACer); ok {
		c = append(c, "mac")
	}
	if _, ok := b.(keys.SessionGenerator); ok {
		c = append(c, "session")
	}
	return c
}

// ServerTLS returns the signer's TLS configuration: TLS 1.3, the current
// server certificate from cert (a [CertHolder]'s Get), and a client
// certificate required at the handshake, which must chain to ca or be a
// self-signed enrolment certificate (the handler admits the latter to
// enrolment only).
func ServerTLS(ca *TransportCA, cert func() (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cert()
		},
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("remote: the signer requires a client certificate")
			}
			if isEnrolmentCert(cs.PeerCertificates[0]) {
				return nil
			}
			return verifyRole(cs.PeerCertificates, ca.pool, x509.ExtKeyUsageClientAuth, RoleAPI, ca.now())
		},
	}
}

// ServerIssuer returns the issue function of the signer's own
// certificate for a [CertHolder]: a fresh in-memory key certified by ca
// for the signer role, naming hosts, valid for validity (0:
// [DefaultCertValidity]).
func ServerIssuer(ca *TransportCA, hosts []string, validity time.Duration) func(context.Context) (*tls.Certificate, error) {
	return func(context.Context) (*tls.Certificate, error) {
		return NewKeyPair(func(pub crypto.PublicKey) (*x509.Certificate, error) {
			return ca.Issue(pub, RoleSigner, hosts, validity)
		}, ca.cert)
	}
}

// NewServer returns the signer's HTTPS server: the RPC handler of cfg
// behind [ServerTLS] with the certificate of cert, headers bounded and
// slow clients cut off. Serve it with ServeTLS(listener, "", "").
func NewServer(cfg HandlerConfig, cert *CertHolder) (*http.Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Server{
		Handler:           h,
		TLSConfig:         ServerTLS(cfg.CA, cert.Get),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}, nil
}
