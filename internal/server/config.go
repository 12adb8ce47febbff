package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/archive"
	blobs3 "github.com/signet-pki/signet/internal/blob/s3"
	"github.com/signet-pki/signet/internal/metrics"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/pki"
)

// Defaults of [Config].
const (
	DefaultListen     = "127.0.0.1:8443"
	DefaultPKIListen  = "127.0.0.1:8480"
	DefaultDataDir    = "./signet-data"
	DefaultUploadSize = 25 << 20
	// DefaultBlobGCInterval and DefaultBlobGCGrace schedule the
	// collection of orphaned blobs.
	DefaultBlobGCInterval = time.Hour
	DefaultBlobGCGrace    = time.Hour
)

// Config is the server configuration, read from a JSON file by
// `signet serve --config`. The zero value plus [Config.Defaults] is a
// working loopback server.
type Config struct {
	// Listen is the HTTPS address (default 127.0.0.1:8443).
	Listen string `json:"listen"`
	// PKIListen is the plain-HTTP loopback address of the PKI endpoints
	// that certificates point to: CA certificates, CRLs and the TSA
	// (default 127.0.0.1:8480). AIA and CRL distribution point URLs are
	// plain HTTP by design (RFC 5280 §4.2.1.13, §4.2.2.1): relying parties
	// fetch them without TLS, and the data are signed.
	PKIListen string `json:"pki_listen"`
	// PKILimits bound what clients of PKIListen may ask: per-client
	// budgets of /tsa, /ocsp and the static endpoints, signings at once
	// (see [pki.Limits]); a field left out keeps its default.
	PKILimits *pki.Limits `json:"pki_limits"`
	// PKIURL is the base URL written into certificates for the PKI
	// endpoints (default http://PKI_LISTEN). Several nodes on one
	// database give it the same value, the address of a load balancer in
	// front of every node's pki_listen; each node answers requests for
	// it in process when it fetches revocation data itself.
	PKIURL string `json:"pki_url"`
	// MetricsListen, MetricsAllowRemote and Tracing turn on metrics and
	// traces (see metrics.go); all off by default.
	MetricsListen      string                 `json:"metrics_listen"`
	MetricsAllowRemote bool                   `json:"metrics_allow_remote"`
	Tracing            *metrics.TracingConfig `json:"tracing"`
	// DataDir holds the databases, keys, blobs and PKI (default
	// ./signet-data).
	DataDir string `json:"data_dir"`
	// DatabaseURL, when set, puts every store of the service in this
	// PostgreSQL database (a postgres:// URL or key=value string, for a
	// role that may not UPDATE or DELETE audit rows): the service tables,
	// key metadata and sealed software keys, CA records and PKI roles,
	// the audit log, idempotency records and the documents. Several
	// nodes may share it. DataDir then keeps only what is the node's own:
	// its scratch space, its outbox and its copies of checkpoints. Unset,
	// everything stays in DataDir (SQLite). SIGNET_DATABASE_URL sets it
	// too.
	DatabaseURL string `json:"database_url"`
	// DatabaseAdminURL, optional, connects as the owner of the tables: a
	// node that has it applies the migrations at start-up (once, under a
	// lock, whichever node starts first) and grants DatabaseURL's role
	// what it needs. Without it the schema must already be current.
	// SIGNET_DATABASE_ADMIN_URL sets it too.
	DatabaseAdminURL string `json:"database_admin_url"`
	// DocumentsS3, if set, keeps the documents in an S3-compatible
	// object store instead of blobs/ or the database.
	DocumentsS3 *S3Config `json:"documents_s3"`
	// TLSMinVersion is "1.3" (default) or "1.2".
	TLSMinVersion string `json:"tls_min_version"`
	// TLSCertFile and TLSKeyFile name a PEM certificate chain and key to
	// serve instead of the one issued by the internal PKI; both or neither.
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`
	// TLSHosts are the DNS names and IP addresses of the internal-PKI
	// server certificate (default localhost, 127.0.0.1, ::1).
	TLSHosts []string `json:"tls_hosts"`
	// SMTP is the mail server for recipients' one-time codes.
	SMTP SMTPConfig `json:"smtp"`
	// TSAURLs are RFC 3161 authorities tried in order for signature and
	// document time-stamps; empty means the built-in TSA for signature
	// time-stamps and the built-in archive TSA for document time-stamps.
	TSAURLs []string `json:"tsa_urls"`
	// TSARootsFile names a PEM file with the trust anchors of the TSAs in
	// TSAURLs; their tokens are accepted only if the TSA certificate
	// chains to one of them. Required with TSAURLs.
	TSARootsFile string `json:"tsa_roots_file"`
	// RateLimits bound requests per IP and per API key.
	RateLimits *api.RateLimits `json:"rate_limits"`
	// VerifyRateLimit bounds the public verifications (POST /v1/verify)
	// per client IP, besides RateLimits (default a burst of 10, then one
	// every 2 s).
	VerifyRateLimit *api.Rate `json:"verify_rate_limit"`
	// MaxUploadSize bounds document uploads in bytes (default 25 MB).
	MaxUploadSize int64 `json:"max_upload_size"`
	// MaxDecodedSize is the decoding budget of one uploaded document in
	// bytes (default 256 MiB): what checking it may decompress and read
	// in total; an upload needing more is refused (a decompression bomb).
	MaxDecodedSize int64 `json:"max_decoded_size"`
	// Witnesses receive every audit checkpoint with a consistency proof
	// (C2SP tlog-witness) and return cosignatures, stored as anchors.
	Witnesses []WitnessConfig `json:"witnesses"`
	// BodyReadTimeout bounds each read of a request body, and
	// BodyMinRate (bytes per second) the body's average rate after the
	// first BodyReadTimeout (defaults 30 s and 16 KiB/s): a body that
	// arrives slower is answered 408 and its connection closed.
	BodyReadTimeout Duration `json:"body_read_timeout"`
	BodyMinRate     int64    `json:"body_min_rate"`
	// BlobGCInterval is how often blobs that nothing references (left by
	// failed or abandoned requests) are deleted, besides once at start
	// (default 1 h); BlobGCGrace spares blobs written more recently than
	// that (default 1 h, at least 1 min), so that a request in flight
	// never loses its blob.
	BlobGCInterval Duration `json:"blob_gc_interval"`
	BlobGCGrace    Duration `json:"blob_gc_grace"`
	// Identity configures users' sign-in: sessions, passkeys, OpenID
	// providers.
	Identity IdentityConfig `json:"identity"`
	// SMSGateway sends recipients' SMS codes; without it, recipients
	// cannot be given the sms_code level.
	SMSGateway *SMSConfig `json:"sms_gateway"`
	// AllowLinkOnlyRecipients lets envelopes that ask for it
	// (allow_link_only) have recipients who prove nothing beyond holding
	// their link. Off by default.
	AllowLinkOnlyRecipients bool `json:"allow_link_only_recipients"`
	// Role splits the service: "api" serves users without key access,
	// "signer" holds the keys and serves only the key RPC to the api
	// role; "" (the default) is one process doing both (see split.go).
	Role string `json:"role"`
	// Signer connects the two roles of a split deployment.
	Signer *SignerConfig `json:"signer"`
	// Retention says how long what Signet keeps is kept.
	Retention RetentionConfig `json:"retention"`
	// Archive configures the renewal of completed documents' time-stamps
	// (see [ArchiveConfig]).
	Archive ArchiveConfig `json:"archive"`
	// PKCS11 names a PKCS#11 token (an HSM) that key custody uses beside
	// the sealed software backend; see [PKCS11Config].
	PKCS11 *PKCS11Config `json:"pkcs11,omitempty"`
	// KeysAtRest says where the tenants' key-encryption keys are made.
	KeysAtRest KeysAtRestConfig `json:"keys_at_rest"`
	// Alerts holds the alert rules' thresholds (see [AlertsConfig]).
	Alerts AlertsConfig `json:"alerts"`
	// Webhooks configures the delivery of events to the tenants'
	// endpoints (see [WebhookConfig]).
	Webhooks WebhookConfig `json:"webhooks"`
}

// RetentionConfig is how long finished work is kept.
type RetentionConfig struct {
	// FinishedEnvelopes is how long envelopes are kept once completed,
	// declined, voided or expired (zero, the default: forever). Older
	// ones are purged and the keys of their data destroyed (see
	// workflow.Config.Retention). At least 1 h when set.
	FinishedEnvelopes Duration `json:"finished_envelopes"`
}

// ArchiveConfig configures archive renewal (package internal/archive):
// completed documents are time-stamped again before their latest
// time-stamp's authority certificate expires or its algorithms weaken.
type ArchiveConfig struct {
	// RenewalMargin is how long before then a document is renewed
	// (default 4320h, 180 days; between 24h and 87840h, ten years).
	RenewalMargin Duration `json:"renewal_margin"`
	// CheckInterval is the time between two passes over the completed
	// documents (default 24h; at least 1m and shorter than the margin).
	CheckInterval Duration `json:"check_interval"`
	// Disabled turns renewal off: documents then lapse to INDETERMINATE
	// once their latest time-stamp's authority certificate expires.
	Disabled bool `json:"disabled"`
}

// Duration is a [time.Duration] written in JSON as a Go duration string,
// e.g. "90s" or "1h30m".
type Duration time.Duration

// UnmarshalJSON decodes a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a duration is a string such as \"30s\" or \"1h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// S3Config names an S3-compatible bucket for the documents. The
// credentials come from the environment variables it names, never from
// the file.
type S3Config struct {
	// Endpoint is the service's URL, e.g. https://s3.eu-central-1.amazonaws.com.
	Endpoint string `json:"endpoint"`
	// Region is the bucket's region (default us-east-1).
	Region string `json:"region"`
	// Bucket is the bucket's name.
	Bucket string `json:"bucket"`
	// Prefix, if set, starts every key (e.g. "signet/").
	Prefix string `json:"prefix"`
	// AccessKeyEnv and SecretKeyEnv name the environment variables that
	// hold the credentials.
	AccessKeyEnv string `json:"access_key_env"`
	SecretKeyEnv string `json:"secret_key_env"`
}

// validate reports whether c is usable.
func (c *S3Config) validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("documents_s3.endpoint %q is not an http(s) URL", c.Endpoint)
	}
	if c.Bucket == "" || c.AccessKeyEnv == "" || c.SecretKeyEnv == "" {
		return errors.New("documents_s3 needs bucket, access_key_env and secret_key_env")
	}
	return nil
}

// MarshalJSON encodes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// WitnessConfig names a C2SP tlog-witness.
type WitnessConfig struct {
	// URL is the witness's submission prefix (no trailing slash).
	URL string `json:"url"`
	// Key is the witness's verifier key (vkey), e.g. "witness.example+1234abcd+A...".
	Key string `json:"key"`
}

// SMTPConfig is the outgoing mail server.
type SMTPConfig struct {
	// Addr is host:port; empty disables mail (codes cannot be sent).
	Addr     string `json:"addr"`
	From     string `json:"from"`
	Username string `json:"username"`
	// PasswordEnv names the environment variable holding the password, so
	// that the configuration file holds no secret.
	PasswordEnv string `json:"password_env"`
	// StartTLS requires STARTTLS before authentication.
	StartTLS bool `json:"starttls"`
}

// hostPort splits Addr into a host and a port number (1–65535).
func (c SMTPConfig) hostPort() (string, int, error) {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "", 0, fmt.Errorf("smtp.addr %q is not host:port: %w", c.Addr, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("smtp.addr %q has no host", c.Addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("smtp.addr %q: the port %q is not a number from 1 to 65535", c.Addr, port)
	}
	return host, n, nil
}

// ParseConfig decodes a JSON configuration strictly ([api.UnmarshalStrict]:
// unknown fields, duplicate keys and keys that differ from a field's name
// in case are refused) and applies [Config.Defaults].
func ParseConfig(b []byte) (Config, error) { return ParseConfigRole(b, "") }

// ParseConfigRole is [ParseConfig] with the role set to role, unless
// empty, before the configuration is checked (`signet serve --role`).
func ParseConfigRole(b []byte, role string) (Config, error) {
	var c Config
	if err := api.UnmarshalStrict(b, &c); err != nil {
		return c, fmt.Errorf("server: config: %w", err)
	}
	if role != "" {
		c.Role = role
	}
	c.Defaults()
	return c, c.Validate()
}

// Defaults fills unset fields with their defaults.
func (c *Config) Defaults() {
	c.Identity.defaults()
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.PKIListen == "" {
		c.PKIListen = DefaultPKIListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.TLSMinVersion == "" {
		c.TLSMinVersion = "1.3"
	}
	if len(c.TLSHosts) == 0 {
		c.TLSHosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if c.MaxUploadSize == 0 {
		c.MaxUploadSize = DefaultUploadSize
	}
	if c.MaxDecodedSize == 0 {
		c.MaxDecodedSize = workflow.DefaultMaxDecodedSize
	}
	if c.RateLimits == nil {
		rl := api.DefaultRateLimits
		c.RateLimits = &rl
	}
	if c.PKILimits == nil {
		pl := pki.DefaultLimits
		c.PKILimits = &pl
	}
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = Duration(DefaultBodyReadTimeout)
	}
	if c.BodyMinRate == 0 {
		c.BodyMinRate = DefaultBodyMinRate
	}
	if c.BlobGCInterval == 0 {
		c.BlobGCInterval = Duration(DefaultBlobGCInterval)
	}
	if c.BlobGCGrace == 0 {
		c.BlobGCGrace = Duration(DefaultBlobGCGrace)
	}
	if c.Archive.RenewalMargin == 0 {
		c.Archive.RenewalMargin = Duration(archive.DefaultMargin)
	}
	if c.Archive.CheckInterval == 0 {
		c.Archive.CheckInterval = Duration(archive.DefaultInterval)
	}
	c.Signer.defaults()
}

// Validate reports whether c is usable.
func (c *Config) Validate() error {
	var errs []error
	for name, a := range map[string]string{"listen": c.Listen, "pki_listen": c.PKIListen} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	// The PKI listener's address is written into every certificate (AIA,
	// CRL distribution points, OCSP): a wildcard would be written as
	// http://[::]:PORT, which no relying party reaches.
	if host, _, err := net.SplitHostPort(c.PKIListen); err == nil {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("pki_listen %q: a wildcard address would be written into certificates; give the address relying parties reach", c.PKIListen))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is empty"))
	}
	if err := c.Identity.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SMSGateway != nil {
		if err := c.SMSGateway.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.DocumentsS3 != nil {
		if err := c.DocumentsS3.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.PKIURL != "" {
		if u, err := url.Parse(c.PKIURL); err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("pki_url %q is not an http://HOST[:PORT] URL", c.PKIURL))
		}
	}
	if c.DatabaseAdminURL != "" && c.DatabaseURL == "" {
		errs = append(errs, errors.New("database_admin_url needs database_url: the service connects as database_url's role"))
	}
	for name, u := range map[string]string{"database_url": c.DatabaseURL, "database_admin_url": c.DatabaseAdminURL} {
		if u != "" && !pgdb.ValidURL(u) {
			// The value is not repeated: it may hold a password.
			errs = append(errs, fmt.Errorf("%s is not a PostgreSQL connection string", name))
		}
	}
	if _, err := c.tlsMinVersion(); err != nil {
		errs = append(errs, err)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls_cert_file and tls_key_file go together"))
	}
	if c.MaxUploadSize < 1024 || c.MaxUploadSize > 1<<30 {
		errs = append(errs, fmt.Errorf("max_upload_size %d is outside 1 KiB–1 GiB", c.MaxUploadSize))
	}
	if c.MaxDecodedSize < 1<<20 || c.MaxDecodedSize > 16<<30 {
		errs = append(errs, fmt.Errorf("max_decoded_size %d is outside 1 MiB–16 GiB", c.MaxDecodedSize))
	}
	if c.SMTP.Addr != "" {
		if _, _, err := c.SMTP.hostPort(); err != nil {
			errs = append(errs, err)
		}
		if c.SMTP.From == "" {
			errs = append(errs, errors.New("smtp.from is required with smtp.addr"))
		}
	}
	for i, u := range c.TSAURLs {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("tsa_urls[%d] %q is not an http(s) URL", i, u))
		}
	}
	if (len(c.TSAURLs) > 0) != (c.TSARootsFile != "") {
		errs = append(errs, errors.New("tsa_urls and tsa_roots_file go together: the roots are the trust anchors of those TSAs"))
	}
	for i, w := range c.Witnesses {
		if _, err := url.Parse(w.URL); err != nil || !strings.HasPrefix(w.URL, "http") {
			errs = append(errs, fmt.Errorf("witnesses[%d].url %q is not an http(s) URL", i, w.URL))
		}
		if _, err := anchor.ParseCosignerKey(w.Key); err != nil {
			errs = append(errs, fmt.Errorf("witnesses[%d].key: %w", i, err))
		}
	}
	if rl := c.RateLimits; rl != nil {
		for _, r := range []api.Rate{rl.PerIP, rl.PerKey, rl.SensitiveIP, rl.SensitiveKey} {
			if err := r.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("rate_limits: %w", err))
			}
		}
	}
	if r := c.VerifyRateLimit; r != nil {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("verify_rate_limit: %w", err))
		}
	}
	if c.PKILimits != nil {
		if err := c.PKILimits.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("pki_limits: %w", err))
		}
	}
	if t := time.Duration(c.BodyReadTimeout); t < 0 || t > time.Hour {
		errs = append(errs, fmt.Errorf("body_read_timeout %v is outside 0–1h", t))
	}
	if c.BodyMinRate < 0 {
		errs = append(errs, fmt.Errorf("body_min_rate %d is negative", c.BodyMinRate))
	}
	if t := time.Duration(c.BlobGCInterval); t < 0 || (t > 0 && t < time.Second) {
		errs = append(errs, fmt.Errorf("blob_gc_interval %v is shorter than 1s", t))
	}
	if t := time.Duration(c.BlobGCGrace); t < 0 || (t > 0 && t < time.Minute) {
		errs = append(errs, fmt.Errorf("blob_gc_grace %v is shorter than 1m: a request in flight could lose its blob", t))
	}
	if err := c.validateSplit(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateKeys()...)
	errs = append(errs, c.validateObservability()...)
	if t := time.Duration(c.Retention.FinishedEnvelopes); t < 0 || (t > 0 && t < time.Hour) {
		errs = append(errs, fmt.Errorf("retention.finished_envelopes %v is shorter than 1h", t))
	}
	errs = append(errs, c.Archive.validate()...)
	if err := c.Alerts.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Webhooks.validate()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("server: config: %w", err)
	}
	return nil
}

// configFiles are the contents of the files a configuration names.
type configFiles struct {
	tsaRoots []*x509.Certificate // TSARootsFile
	tlsPair  *tls.Certificate    // TLSCertFile and TLSKeyFile
}

// readFiles reads the files the configuration names.
func (c *Config) readFiles() (configFiles, error) {
	var f configFiles
	var err error
	if f.tsaRoots, err = c.tsaRoots(); err != nil {
		return f, err
	}
	f.tlsPair, err = c.tlsKeyPair()
	return f, err
}

// tsaRoots reads TSARootsFile, if set.
func (c *Config) tsaRoots() ([]*x509.Certificate, error) {
	if c.TSARootsFile == "" {
		return nil, nil
	}
	certs, err := keyref.ReadCertificates(c.TSARootsFile)
	if err != nil {
		return nil, fmt.Errorf("server: tsa_roots_file: %w", err)
	}
	return certs, nil
}

// tlsKeyPair reads TLSCertFile and TLSKeyFile, if set.
func (c *Config) tlsKeyPair() (*tls.Certificate, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	kp, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server: tls_cert_file %s, tls_key_file %s: %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return &kp, nil
}

func (c *Config) tlsMinVersion() (uint16, error) {
	switch c.TLSMinVersion {
	case "1.3", "":
		return tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, nil
	}
	return 0, fmt.Errorf("tls_min_version %q: only 1.3 and 1.2 are allowed", c.TLSMinVersion)
}

// documentsS3 returns the S3 store's configuration, with the credentials
// of o, or nil.
func (c *Config) documentsS3(o options) *blobs3.Config {
	if c.DocumentsS3 == nil {
		return nil
	}
	d := c.DocumentsS3
	return &blobs3.Config{Endpoint: d.Endpoint, Region: d.Region, Bucket: d.Bucket, Prefix: d.Prefix, AccessKey: o.s3Access, SecretKey: o.s3Secret}
}

// validate reports what is wrong with c (after the defaults).
func (c *ArchiveConfig) validate() []error {
	var errs []error
	m, i := time.Duration(c.RenewalMargin), time.Duration(c.CheckInterval)
	if m < 24*time.Hour || m > archive.MaxMargin {
		errs = append(errs, fmt.Errorf("archive.renewal_margin %v is outside 24h–%v", m, archive.MaxMargin))
	}
	if i < time.Minute {
		errs = append(errs, fmt.Errorf("archive.check_interval %v is shorter than 1m", i))
	} else if i >= m {
		errs = append(errs, fmt.Errorf("archive.check_interval %v is not shorter than archive.renewal_margin %v: a document could lapse between two passes", i, m))
	}
	return errs
}
