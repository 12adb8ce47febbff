package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

// AddPasskey implements [identity.Store].
func (s *Store) AddPasskey(ctx context.Context, p identity.Passkey) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "add passkey", func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM identity_users WHERE tenant = $1 AND id = $2 FOR UPDATE`, p.Tenant, p.UserID).Scan(&status)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("user %s: %w", p.UserID, identity.ErrNotFound)
		case err != nil:
			return err
		case identity.Status(status) != identity.StatusActive:
			return fmt.Errorf("user %s: %w", p.UserID, identity.ErrDisabled)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM identity_passkeys WHERE tenant = $1 AND user_id = $2`,
			p.Tenant, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= identity.MaxPasskeys {
			return fmt.Errorf("user %s has %d passkeys: %w", p.UserID, n, identity.ErrLimit)
		}
		_, err = tx.Exec(ctx, `INSERT INTO identity_passkeys
			(credential_id, tenant, user_id, public_key, sign_count, aaguid, transports, backup_eligible, backup_state,
			name, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.CredentialID, p.Tenant, p.UserID, p.PublicKey, int64(p.SignCount), p.AAGUID[:], identity.JoinTransports(p.Transports),
			p.BackupEligible, p.BackupState, p.Name, p.CreatedAt, nullTime(p.LastUsedAt))
		if pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("passkey: %w", identity.ErrExists)
		}
		return err
	})
}

const passkeyColumns = `credential_id, tenant, user_id, public_key, sign_count, aaguid, transports, backup_eligible,
	backup_state, name, created_at, last_used_at`

func scanPasskey(row pgx.Row) (identity.Passkey, error) {
	var p identity.Passkey
	var count int64
	var aaguid []byte
	var transports string
	var lastUsed *time.Time
	err := row.Scan(&p.CredentialID, &p.Tenant, &p.UserID, &p.PublicKey, &count, &aaguid, &transports, &p.BackupEligible,
		&p.BackupState, &p.Name, &p.CreatedAt, &lastUsed)
	if err != nil {
		return p, err
	}
	if count < 0 || count > math.MaxUint32 || len(aaguid) != len(p.AAGUID) {
		return p, errors.New("bad passkey row")
	}
	p.SignCount, p.Transports, p.LastUsedAt = uint32(count), identity.SplitTransports(transports), orZero(lastUsed)
	copy(p.AAGUID[:], aaguid)
	return p, nil
}

// PasskeysOf implements [identity.Store].
func (s *Store) PasskeysOf(ctx context.Context, tenant, userID string) ([]identity.Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM identity_passkeys
		WHERE tenant = $1 AND user_id = $2 LIMIT $3`, tenant, userID, identity.MaxPasskeys+1)
	if err != nil {
		return nil, wrap("passkeys", err)
	}
	defer rows.Close()
	var out []identity.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, wrap("passkeys", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("passkeys", err)
	}
	if len(out) > identity.MaxPasskeys {
		return nil, fmt.Errorf("identity/postgres: passkeys: %w", identity.ErrLimit)
	}
	identity.SortPasskeys(out)
	return out, nil
}

// PasskeyByCredentialID implements [identity.Store].
func (s *Store) PasskeyByCredentialID(ctx context.Context, credID []byte) (identity.Passkey, error) {
	p, err := scanPasskey(s.pool.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM identity_passkeys WHERE credential_id = $1`, credID))
	return p, wrap("passkey", err)
}

// UpdatePasskeyUse implements [identity.Store].
func (s *Store) UpdatePasskeyUse(ctx context.Context, credID []byte, signCount uint32, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE identity_passkeys SET sign_count = $1, last_used_at = $2
		WHERE credential_id = $3 AND (sign_count = 0 OR sign_count < $1)`, int64(signCount), at, credID)
	if err != nil || tag.RowsAffected() == 1 {
		return wrap("update passkey use", err)
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM identity_passkeys WHERE credential_id = $1`, credID).Scan(&one); err != nil {
		return wrap("update passkey use", err)
	}
	return fmt.Errorf("identity/postgres: update passkey use: sign count %d not above the stored one: %w", signCount, identity.ErrConflict)
}

// DeletePasskey implements [identity.Store].
func (s *Store) DeletePasskey(ctx context.Context, tenant, userID string, credID []byte) error {
	return s.exec(ctx, "delete passkey", `DELETE FROM identity_passkeys WHERE tenant = $1 AND user_id = $2 AND credential_id = $3`,
		tenant, userID, credID)
}
