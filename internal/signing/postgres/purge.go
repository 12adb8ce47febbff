package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/signing"
)

var _ signing.EnvelopePurger = (*Store)(nil)

// PurgeEnvelope implements [signing.EnvelopePurger]: the envelope's
// links, sessions and code state, in one transaction.
func (s *Store) PurgeEnvelope(ctx context.Context, envelopeID string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		for _, table := range []string{"signing_links", "signing_sessions", "signing_auth"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE envelope_id = $1`, envelopeID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("signing/postgres: purge envelope: %w", err)
	}
	return nil
}
