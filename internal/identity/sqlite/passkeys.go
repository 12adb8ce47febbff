package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// AddPasskey implements [identity.Store].
func (s *Store) AddPasskey(ctx context.Context, p identity.Passkey) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, p.Tenant, p.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identity_passkeys WHERE tenant = ? AND user_id = ?`,
			p.Tenant, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= identity.MaxPasskeys {
			return fmt.Errorf("user %s has %d passkeys: %w", p.UserID, n, identity.ErrLimit)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_passkeys
			(credential_id, tenant, user_id, public_key, sign_count, aaguid, transports, backup_eligible, backup_state,
			name, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.CredentialID, p.Tenant, p.UserID, p.PublicKey, int64(p.SignCount), p.AAGUID[:], identity.JoinTransports(p.Transports),
			p.BackupEligible, p.BackupState, p.Name, sqldb.FormatTime(p.CreatedAt), nullTime(p.LastUsedAt))
		if isUnique(err) {
			return fmt.Errorf("passkey: %w", identity.ErrExists)
		}
		return err
	})
	return wrap("add passkey", err)
}

const passkeyColumns = `credential_id, tenant, user_id, public_key, sign_count, aaguid, transports, backup_eligible,
	backup_state, name, created_at, last_used_at`

func scanPasskey(row scanner) (identity.Passkey, error) {
	var p identity.Passkey
	var count int64
	var aaguid []byte
	var transports string
	err := row.Scan(&p.CredentialID, &p.Tenant, &p.UserID, &p.PublicKey, &count, &aaguid, &transports, &p.BackupEligible,
		&p.BackupState, &p.Name, timeCol{&p.CreatedAt}, timeCol{&p.LastUsedAt})
	if err != nil {
		return p, err
	}
	if count < 0 || count > math.MaxUint32 || len(aaguid) != len(p.AAGUID) {
		return p, errors.New("bad passkey row")
	}
	p.SignCount, p.Transports = uint32(count), identity.SplitTransports(transports)
	copy(p.AAGUID[:], aaguid)
	return p, nil
}

// PasskeysOf implements [identity.Store].
func (s *Store) PasskeysOf(ctx context.Context, tenant, userID string) ([]identity.Passkey, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+passkeyColumns+` FROM identity_passkeys
		WHERE tenant = ? AND user_id = ? LIMIT ?`, tenant, userID, identity.MaxPasskeys+1)
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
		return nil, fmt.Errorf("identity/sqlite: passkeys: %w", identity.ErrLimit)
	}
	identity.SortPasskeys(out)
	return out, nil
}

// PasskeyByCredentialID implements [identity.Store].
func (s *Store) PasskeyByCredentialID(ctx context.Context, credID []byte) (identity.Passkey, error) {
	p, err := scanPasskey(s.pool.Reader().QueryRowContext(ctx,
		`SELECT `+passkeyColumns+` FROM identity_passkeys WHERE credential_id = ?`, credID))
	return p, wrap("passkey", err)
}

// UpdatePasskeyUse implements [identity.Store].
func (s *Store) UpdatePasskeyUse(ctx context.Context, credID []byte, signCount uint32, at time.Time) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identity_passkeys SET sign_count = ?, last_used_at = ?
			WHERE credential_id = ? AND (sign_count = 0 OR sign_count < ?)`,
			int64(signCount), sqldb.FormatTime(at), credID, int64(signCount))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM identity_passkeys WHERE credential_id = ?`, credID).Scan(&one); err != nil {
			return err
		}
		return fmt.Errorf("sign count %d not above the stored one: %w", signCount, identity.ErrConflict)
	})
	return wrap("update passkey use", err)
}

// DeletePasskey implements [identity.Store].
func (s *Store) DeletePasskey(ctx context.Context, tenant, userID string, credID []byte) error {
	return s.update(ctx, "delete passkey", `DELETE FROM identity_passkeys WHERE tenant = ? AND user_id = ? AND credential_id = ?`,
		tenant, userID, credID)
}
