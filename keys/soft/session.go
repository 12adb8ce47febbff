package soft

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"sync"

	"github.com/signet-pki/signet/keys"
)

// sessionPrefix marks the handles of session keys, which never touch disk.
const sessionPrefix = "soft-session-"

// sessions holds the session keys of a Backend.
type sessions struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer
}

var _ keys.SessionGenerator = (*Backend)(nil)

// GenerateSession implements [keys.SessionGenerator]: the key is generated
// in memory and kept there only, until Destroy.
func (b *Backend) GenerateSession(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	if !alg.Asymmetric() {
		return "", nil, fmt.Errorf("%w: session keys are for signing, not %q", keys.ErrUnsupportedAlgorithm, alg)
	}
	s, err := generateAsymmetric(alg)
	if err != nil {
		return "", nil, err
	}
	h, err := b.newHandle()
	if err != nil {
		return "", nil, err
	}
	h = sessionPrefix + strings.TrimPrefix(h, handlePrefix)
	b.sessions.mu.Lock()
	defer b.sessions.mu.Unlock()
	b.sessions.keys[h] = s
	return h, s.Public(), nil
}

// sessionKey returns the session key of handle h, and whether h names one.
func (b *Backend) sessionKey(h string) (crypto.Signer, bool, error) {
	if !strings.HasPrefix(h, sessionPrefix) {
		return nil, false, nil
	}
	b.sessions.mu.Lock()
	defer b.sessions.mu.Unlock()
	s, ok := b.sessions.keys[h]
	if !ok {
		return nil, true, fmt.Errorf("%w: %s", keys.ErrKeyNotFound, h)
	}
	return s, true, nil
}

// destroySession forgets the session key of handle h.
func (b *Backend) destroySession(h string) error {
	b.sessions.mu.Lock()
	defer b.sessions.mu.Unlock()
	if _, ok := b.sessions.keys[h]; !ok {
		return fmt.Errorf("%w: %s", keys.ErrKeyNotFound, h)
	}
	delete(b.sessions.keys, h)
	return nil
}
