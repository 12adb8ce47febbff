package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// LinkExternal implements [identity.Store].
func (s *Store) LinkExternal(ctx context.Context, l identity.ExternalLink) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, l.Tenant, l.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_external_links (tenant, user_id, issuer, subject, created_at)
			VALUES (?, ?, ?, ?, ?)`, l.Tenant, l.UserID, l.Issuer, l.Subject, sqldb.FormatTime(l.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("external link: %w", identity.ErrExists)
		}
		return err
	})
	return wrap("link external", err)
}

const linkColumns = `tenant, user_id, issuer, subject, created_at`

func scanLink(row scanner) (identity.ExternalLink, error) {
	var l identity.ExternalLink
	err := row.Scan(&l.Tenant, &l.UserID, &l.Issuer, &l.Subject, timeCol{&l.CreatedAt})
	return l, err
}

// ExternalLink implements [identity.Store].
func (s *Store) ExternalLink(ctx context.Context, tenant, issuer, subject string) (identity.ExternalLink, error) {
	l, err := scanLink(s.pool.Reader().QueryRowContext(ctx, `SELECT `+linkColumns+` FROM identity_external_links
		WHERE tenant = ? AND issuer = ? AND subject = ?`, tenant, issuer, subject))
	return l, wrap("external link", err)
}

// ExternalLinksOf implements [identity.Store].
func (s *Store) ExternalLinksOf(ctx context.Context, tenant, userID string) ([]identity.ExternalLink, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+linkColumns+` FROM identity_external_links
		WHERE tenant = ? AND user_id = ? LIMIT ?`, tenant, userID, identity.MaxList+1)
	if err != nil {
		return nil, wrap("external links", err)
	}
	defer rows.Close()
	var out []identity.ExternalLink
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, wrap("external links", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("external links", err)
	}
	if len(out) > identity.MaxList {
		return nil, fmt.Errorf("identity/sqlite: external links: %w", identity.ErrLimit)
	}
	identity.SortExternalLinks(out)
	return out, nil
}
