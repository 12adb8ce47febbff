package postgres

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/signing"
)

var _ signing.ClearSessionPurger = (*Store)(nil)

// PurgeClearSessions implements [signing.ClearSessionPurger]. The deleted
// row versions stay until VACUUM reclaims them, unreadable through SQL.
func (s *Store) PurgeClearSessions(ctx context.Context) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_sessions WHERE email <> '' AND substr(email, 1, 7) <> 'sealed:'`)
	if err != nil {
		return 0, fmt.Errorf("signing/postgres: purge sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
