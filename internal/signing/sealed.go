package signing

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/dataseal"
)

// ErrUnsealedSession means a stored session holds in clear a field that
// must be sealed (one stored before the service had keys): it is refused,
// and the recipient authenticates again.
var ErrUnsealedSession = errors.New("signing: a stored session holds in clear what must be sealed")

// fieldSessionEmail is the AD field of a session's e-mail address.
const fieldSessionEmail = "email"

// SealStore returns a [Store] over s that seals each session's e-mail
// address under the recipient's object ([RecipientObject]) of the
// envelope's tenant before storing it, as [workflow.SealedPrefix] and
// base64url, and opens it after loading it. A session whose address is in
// clear is refused ([ErrUnsealedSession]). Links and code state hold only
// hashes, times and counters, and the passkey ceremony is sealed already
// ([Config.CodeKey]); they pass through. [New], [NewNotifier] and
// [NewSealer] wrap [Config.Store] with it when [Config.Keys] is set.
func SealStore(s Store, keys workflow.KeyRing, rand io.Reader) Store {
	return &sealedStore{Store: s, keys: keys, rand: rand}
}

type sealedStore struct {
	Store
	keys workflow.KeyRing
	rand io.Reader
}

func sessionAD(ss *Session) dataseal.AD {
	return dataseal.AD{Tenant: ss.Tenant, Object: workflow.RecipientObject(ss.EnvelopeID, ss.RecipientID), Field: fieldSessionEmail}
}

func (s *sealedStore) CreateSession(ctx context.Context, ss Session) error {
	if ss.Email != "" {
		ad := sessionAD(&ss)
		kek, err := s.keys.ObjectKEK(ctx, ad.Tenant, ad.Object, true)
		if err != nil {
			return fmt.Errorf("signing: key of %s: %w", ad.Object, err)
		}
		if ss.Email, err = dataseal.SealText(ctx, kek, ad, []byte(ss.Email), s.rand); err != nil {
			return fmt.Errorf("signing: sealing the session's address: %w", err)
		}
	}
	return s.Store.CreateSession(ctx, ss)
}

func (s *sealedStore) SessionByHash(ctx context.Context, hash [32]byte) (Session, error) {
	ss, err := s.Store.SessionByHash(ctx, hash)
	if err != nil || ss.Email == "" {
		return ss, err
	}
	if !dataseal.IsText(ss.Email) {
		return Session{}, ErrUnsealedSession
	}
	ad := sessionAD(&ss)
	kek, err := s.keys.ObjectKEK(ctx, ad.Tenant, ad.Object, false)
	if err != nil {
		return Session{}, fmt.Errorf("signing: key of %s: %w", ad.Object, err)
	}
	pt, err := dataseal.OpenText(ctx, kek, ad, ss.Email)
	if err != nil {
		return Session{}, fmt.Errorf("signing: opening the session's address: %w", err)
	}
	ss.Email = string(pt)
	return ss, nil
}

// A ClearSessionPurger deletes the sessions whose e-mail address is
// stored in clear (neither empty nor sealed) and returns how many it
// deleted. Both drivers implement it.
type ClearSessionPurger interface {
	PurgeClearSessions(ctx context.Context) (int, error)
}

// PurgeClearSessions deletes, when the service has keys ([Config.Keys]),
// the recipient sessions stored in clear before it had them: such a
// session is refused anyway ([ErrUnsealedSession]; its recipient
// authenticates again), and its address must not stay at rest. It
// returns how many it deleted; without keys it does nothing. The server
// runs it at start.
func (s *Service) PurgeClearSessions(ctx context.Context) (int, error) {
	if s.cfg.Keys == nil {
		return 0, nil
	}
	p, ok := s.rawStore.(ClearSessionPurger)
	if !ok {
		return 0, errors.New("signing: the store cannot purge sessions stored in clear")
	}
	return p.PurgeClearSessions(ctx)
}
