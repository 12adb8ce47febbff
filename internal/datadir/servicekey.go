package datadir

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/signet-pki/signet/keys"
)

// ServiceKeyFile is the service key's file in the data directory of a
// split deployment's api role (0600), unless SIGNET_SERVICE_KEY holds it.
const ServiceKeyFile = "service.key"

// serviceKeyPrefix starts the text form of a service key.
const serviceKeyPrefix = "signet-service-key-v1:"

// The labels of the secrets a service key holds, each derived from the
// master key as HMAC-SHA256(master key, label): these are the very
// derivations of a single-process deployment, so that splitting it keeps
// every hash and sealed value valid.
var serviceKeyLabels = [...]string{
	"signet recipient codes",
	"signet recovery codes",
	"signet identity seal",
	"signet idempotency request hashes",
	"signet transport enrolment",
	"signet outbox",
	"signet idempotency bodies",
}

// A ServiceKey holds the service's secrets that derive from the master
// key but are no key backend credential: the keys of recipients' code
// hashes, of users' recovery code hashes, of the identity sealer, of
// idempotency request hashes and bodies and of the outbox, and the
// enrolment key with which the api
// role obtains its transport certificate from the signer. The api role
// of a split deployment holds it instead of the master key; a single
// process derives it from the master key.
type ServiceKey struct {
	secrets [len(serviceKeyLabels)][]byte
	// audit is the audit log's secret of a PostgreSQL deployment, where
	// the database keeps it sealed under the master key; nil on SQLite,
	// where the api role reads audit.master like a single process.
	audit []byte
}

// DeriveServiceKey derives the service key from the master key.
func DeriveServiceKey(master []byte) *ServiceKey {
	k := &ServiceKey{}
	for i, l := range serviceKeyLabels {
		k.secrets[i] = deriveKey(master, l)
	}
	return k
}

// ParseServiceKey decodes the text form of [ServiceKey.Encode], the
// content of service.key and of SIGNET_SERVICE_KEY.
func ParseServiceKey(s string) (*ServiceKey, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), serviceKeyPrefix)
	if !ok {
		return nil, errors.New("not a service key (it starts with " + serviceKeyPrefix + ")")
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	n := 32 * len(serviceKeyLabels)
	if err != nil || (len(b) != n && len(b) != n+32) {
		return nil, errors.New("service key damaged (bad base64 or length)")
	}
	k := &ServiceKey{}
	for i := range k.secrets {
		k.secrets[i] = b[32*i : 32*(i+1)]
	}
	if len(b) > n {
		k.audit = b[n:]
	}
	return k, nil
}

// Encode returns the text form of k: a secret, to be written only to a
// 0600 file or a secret store.
func (k *ServiceKey) Encode() string {
	var b []byte
	for _, s := range k.secrets {
		b = append(b, s...)
	}
	b = append(b, k.audit...)
	defer clear(b)
	return serviceKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Equal reports whether k and o hold the same secrets (in constant time).
func (k *ServiceKey) Equal(o *ServiceKey) bool {
	eq := subtle.ConstantTimeCompare(k.audit, o.audit)
	if len(k.audit) == 0 && len(o.audit) == 0 {
		eq = 1
	}
	for i := range k.secrets {
		eq &= subtle.ConstantTimeCompare(k.secrets[i], o.secrets[i])
	}
	return eq == 1
}

// EnrolmentKey returns the key that authenticates the api role's
// enrolment with the signer (32 bytes).
func (k *ServiceKey) EnrolmentKey() []byte { return k.secrets[4] }

// String hides the secrets.
func (k *ServiceKey) String() string { return "datadir.ServiceKey(…)" }

// GoString hides the secrets.
func (k *ServiceKey) GoString() string { return k.String() }

func (k *ServiceKey) clear() {
	for _, s := range k.secrets {
		clear(s)
	}
	clear(k.audit)
}

// ServiceKey returns the data directory's service key: in the api role
// ([Options.Backend] set), from [Options.ServiceKey] or service.key,
// never from the master key; otherwise derived from the master key
// ([Dir.KeyBackend]).
func (d *Dir) ServiceKey(ctx context.Context) (*ServiceKey, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.svcKey != nil {
		return d.svcKey, nil
	}
	if d.opts.Backend == nil {
		if _, err := d.KeyBackend(ctx); err != nil {
			return nil, err
		}
		return d.svcKey, nil
	}
	k, err := ReadServiceKey(d.path, d.opts.ServiceKey)
	if err != nil {
		return nil, err
	}
	d.svcKey = k
	return k, nil
}

// ReadServiceKey returns the service key of the api role whose data
// directory is dir: fromEnv (the value of SIGNET_SERVICE_KEY) if set,
// else the content of DIR/service.key, which must be readable by its
// owner only.
func ReadServiceKey(dir, fromEnv string) (*ServiceKey, error) {
	text := fromEnv
	if text == "" {
		path := File(dir, ServiceKeyFile)
		b, err := readSecretFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &secretError{"service key", fmt.Errorf("the api role needs the service key: set SIGNET_SERVICE_KEY or put it in %s (signet keys export-service-key on the signer's host)", path)}
		}
		if err != nil {
			return nil, &secretError{"service key", err}
		}
		defer clear(b)
		text = string(b)
	}
	k, err := ParseServiceKey(text)
	if err != nil {
		return nil, &secretError{"service key", err}
	}
	return k, nil
}

// readSecretFile reads a regular file readable by its owner only.
func readSecretFile(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o, want 0600", path, st.Mode().Perm())
	}
	return os.ReadFile(path)
}

// backend returns the key backend of the key manager and the PKI: the
// api role's ([Options.Backend]), or the software one.
func (d *Dir) keyBackend(ctx context.Context) (keys.Backend, error) {
	if d.opts.Backend != nil {
		return d.opts.Backend, nil
	}
	return d.KeyBackend(ctx)
}

// Backend returns the key backend that holds the service's keys: in the
// api role the signer's ([Options.Backend]), else the software backend
// ([Dir.KeyBackend]).
func (d *Dir) Backend(ctx context.Context) (keys.Backend, error) {
	if d.closed {
		return nil, errClosed
	}
	return d.keyBackend(ctx)
}

// ExportServiceKey writes the service key, derived from the master key,
// to path (0600), for the api role of a split deployment. It refuses to
// overwrite an existing file, and refuses in the api role (which has no
// master key to derive it from).
func (d *Dir) ExportServiceKey(ctx context.Context, path string) error {
	if d.opts.Backend != nil {
		return errNoKeyAccess
	}
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return err
	}
	if d.Postgres() {
		// The api role cannot unseal the database's audit secret: it
		// travels in the service key.
		audit, err := d.pgSecret(ctx, AuditMaster)
		if err != nil {
			return err
		}
		k = &ServiceKey{secrets: k.secrets, audit: audit}
		defer clear(audit)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("datadir: service key: %w", err)
	}
	if _, err := f.WriteString(k.Encode() + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("datadir: service key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("datadir: service key: %w", err)
	}
	return f.Close()
}

// auditSecretPG returns the audit secret of a PostgreSQL deployment: from
// the database, unsealed under the master key, or in the api role from
// the service key (a copy: the log keeps none of it).
func (d *Dir) auditSecretPG(ctx context.Context) ([]byte, error) {
	if d.opts.Backend == nil {
		return d.pgSecret(ctx, AuditMaster)
	}
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	if len(k.audit) == 0 {
		return nil, &secretError{"service key", errors.New("it holds no audit secret: export it again with --database-url on the signer's host (signet keys export-service-key)")}
	}
	return append([]byte(nil), k.audit...), nil
}
