package ca

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

// Revoke revokes the certificate with serial for reason, effective now
// (the revocation time of RFC 5280 §5.1.2.6 and RFC 6960 §4.2.1). invalid,
// if not zero, is when the key is known or suspected to have been
// compromised or the certificate otherwise became invalid; it becomes the
// invalidity date of the CRL entry and OCSP response (RFC 5280 §5.3.2) and
// must not be in the future.
//
// The certificate.revoked event is recorded first; if the audit log fails
// nothing is revoked and the error wraps [ErrAudit]. It returns
// [ErrNotFound] or [ErrAlreadyRevoked] for such serials. After the store
// has the revocation, [Config.OnRevoke] runs, so the CRL and OCSP reflect it
// at once.
func (a *Authority) Revoke(ctx context.Context, serial *big.Int, reason Reason, invalid time.Time) (Record, error) {
	if serial == nil || !reason.Valid() {
		return Record{}, fmt.Errorf("%w: revocation reason %v", ErrInvalidRequest, reason)
	}
	now := a.cfg.Now().UTC().Truncate(time.Second)
	if invalid.After(now) {
		return Record{}, fmt.Errorf("%w: invalidity date in the future", ErrInvalidRequest)
	}
	r, err := a.cfg.Store.Get(ctx, serial)
	if err != nil {
		return Record{}, fmt.Errorf("ca: revoke %x: %w", serial, err)
	}
	if r.Status == StatusRevoked {
		return r, fmt.Errorf("ca: revoke %x: %w", serial, ErrAlreadyRevoked)
	}
	if r.Kind == KindRoot {
		return Record{}, fmt.Errorf("%w: the root certificate cannot be revoked; replace the trust anchor", ErrInvalidRequest)
	}
	details := map[string]string{"reason": reason.String(), "revoked_at": now.Format(time.RFC3339)}
	if !invalid.IsZero() {
		invalid = invalid.UTC().Truncate(time.Second)
		details["invalidity_date"] = invalid.Format(time.RFC3339)
	}
	if err := a.record(ctx, auditlog.CertificateRevoked, a.tenantOf(ctx, r.Issuer), &r, details); err != nil {
		return Record{}, err
	}
	r, err = a.cfg.Store.Revoke(ctx, serial, reason, now, invalid)
	if err != nil {
		return r, fmt.Errorf("ca: revoke %x: %w", serial, err)
	}
	if a.cfg.OnRevoke != nil {
		a.cfg.OnRevoke(ctx, r)
	}
	return r, nil
}

// RevokeByKey revokes every unexpired, unrevoked certificate of version of
// key id (every version if version is empty), with compromise as the
// invalidity date. The key manager calls it when it revokes a key. It
// returns the records it revoked; on an error some may already be revoked
// and calling it again finishes the job.
func (a *Authority) RevokeByKey(ctx context.Context, id, version string, reason Reason, compromise time.Time) ([]Record, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty key id", ErrInvalidRequest)
	}
	rs, err := a.cfg.Store.ByKey(ctx, id, version)
	if err != nil {
		return nil, fmt.Errorf("ca: certificates of key %s: %w", id, err)
	}
	now := a.cfg.Now()
	var out []Record
	for _, r := range rs {
		if r.Status == StatusRevoked || r.Kind == KindRoot || now.After(r.NotAfter) {
			continue
		}
		rr, err := a.Revoke(ctx, r.Serial, reason, compromise)
		if errors.Is(err, ErrAlreadyRevoked) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, rr)
	}
	return out, nil
}

func (a *Authority) tenantOf(ctx context.Context, issuer string) string {
	if iss, err := a.issuer(ctx, issuer); err == nil {
		return iss.Tenant
	}
	return ""
}

// KeyRevocationHook returns the hook to register with the key manager
// (keys.Manager.OnRevoke): revoking a key version revokes its certificates
// (see [Authority.RevokeByKey]), with the key's reason and compromise time.
func (a *Authority) KeyRevocationHook() keys.RevocationHook {
	return func(ctx context.Context, r keys.KeyRevocation) error {
		if r.Key == nil {
			return fmt.Errorf("%w: revocation without key", ErrInvalidRequest)
		}
		_, err := a.RevokeByKey(ctx, r.Key.ID, strconv.Itoa(r.Version), r.Reason, r.CompromiseTime)
		return err
	}
}
