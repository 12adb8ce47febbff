package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

// LinkExternal implements [identity.Store].
func (s *Store) LinkExternal(ctx context.Context, l identity.ExternalLink) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "link external", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, l.Tenant, l.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO identity_external_links (tenant, user_id, issuer, subject, created_at)
			VALUES ($1, $2, $3, $4, $5)`, l.Tenant, l.UserID, l.Issuer, l.Subject, l.CreatedAt)
		if pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("external link: %w", identity.ErrExists)
		}
		return err
	})
}

const linkColumns = `tenant, user_id, issuer, subject, created_at`

func scanLink(row pgx.Row) (identity.ExternalLink, error) {
	var l identity.ExternalLink
	err := row.Scan(&l.Tenant, &l.UserID, &l.Issuer, &l.Subject, &l.CreatedAt)
	return l, err
}

// ExternalLink implements [identity.Store].
func (s *Store) ExternalLink(ctx context.Context, tenant, issuer, subject string) (identity.ExternalLink, error) {
	l, err := scanLink(s.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM identity_external_links
		WHERE tenant = $1 AND issuer = $2 AND subject = $3`, tenant, issuer, subject))
	return l, wrap("external link", err)
}

// ExternalLinksOf implements [identity.Store].
func (s *Store) ExternalLinksOf(ctx context.Context, tenant, userID string) ([]identity.ExternalLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM identity_external_links
		WHERE tenant = $1 AND user_id = $2 LIMIT $3`, tenant, userID, identity.MaxList+1)
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
		return nil, fmt.Errorf("identity/postgres: external links: %w", identity.ErrLimit)
	}
	identity.SortExternalLinks(out)
	return out, nil
}
