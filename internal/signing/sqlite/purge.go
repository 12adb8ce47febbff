package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-pki/signet/internal/signing"
)

var _ signing.EnvelopePurger = (*Store)(nil)

// PurgeEnvelope implements [signing.EnvelopePurger]: the envelope's
// links, sessions and code state, in one transaction.
func (s *Store) PurgeEnvelope(ctx context.Context, envelopeID string) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"signing_links", "signing_sessions", "signing_auth"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE envelope_id = ?`, envelopeID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("signing/sqlite: purge envelope: %w", err)
	}
	return nil
}
