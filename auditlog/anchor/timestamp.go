package anchor

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/tsa"
)

// Timestamper anchors checkpoints with RFC 3161 time-stamp tokens. The
// message imprint is SHA-256 of the checkpoint body (the note text without
// its signature block; see the package documentation), so anyone holding
// the checkpoint can recompute it.
type Timestamper struct {
	// Client asks the time-stamp authorities. Its URLs are tried in order;
	// the anchor is named after the URL that answered. Set Client.Roots to
	// have the TSA certificate chain checked at request time.
	Client *tsa.Client
	// Now returns the current time, recorded as the anchor's Time; nil
	// means time.Now.
	Now func() time.Time
}

// Anchor time-stamps cp and returns one anchor of kind [KindRFC3161] whose
// Name is the TSA URL and Data the DER token. prev and proof are unused. It
// fails, wrapping [tsa.ErrNoToken], when no TSA returned a verified token:
// the checkpoint is then not time-stamped and the caller should count the
// failure and try again with the next checkpoint.
func (t *Timestamper) Anchor(ctx context.Context, cp, _ auditlog.Checkpoint, _ tlog.TreeProof) ([]auditlog.Anchor, error) {
	if t.Client == nil {
		return nil, errors.New("anchor: Timestamper has no tsa.Client")
	}
	body, _, err := checkpointBody(cp.Note)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(body)
	tok, u, err := t.Client.TimestampFrom(ctx, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("anchor: time-stamp checkpoint %d: %w", cp.Size, err)
	}
	return []auditlog.Anchor{{
		Size: cp.Size,
		Kind: KindRFC3161,
		Name: u,
		Data: tok.Raw,
		Time: t.now(),
	}}, nil
}

func (t *Timestamper) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// VerifyTimestampAnchor checks an anchor of kind [KindRFC3161] against the
// checkpoint it anchors: the token's message imprint must be SHA-256 of
// cp's body (RFC 3161 §2.4.2), its CMS signature must verify, the TSA
// certificate must carry id-kp-timeStamping as its only, critical, extended
// key usage (RFC 3161 §2.3), and, when roots is non-nil, the certificate
// must chain to roots at the token's genTime (RFC 5280 §6). Errors wrap the
// tsa package's sentinels ([tsa.ErrImprint], [tsa.ErrEKU], ...) or
// [ErrKind].
func VerifyTimestampAnchor(a auditlog.Anchor, cp auditlog.Checkpoint, roots *x509.CertPool) error {
	if a.Kind != KindRFC3161 {
		return fmt.Errorf("%w: %q is not %q", ErrKind, a.Kind, KindRFC3161)
	}
	if a.Size != cp.Size {
		return fmt.Errorf("anchor: time-stamp anchors size %d, checkpoint has size %d", a.Size, cp.Size)
	}
	body, _, err := checkpointBody(cp.Note)
	if err != nil {
		return err
	}
	tok, err := tsa.ParseToken(a.Data)
	if err != nil {
		return fmt.Errorf("anchor: time-stamp of checkpoint %d from %s: %w", cp.Size, a.Name, err)
	}
	digest := sha256.Sum256(body)
	if err := tok.CheckImprint(crypto.SHA256, digest[:]); err != nil {
		return fmt.Errorf("anchor: time-stamp of checkpoint %d from %s: %w", cp.Size, a.Name, err)
	}
	if _, _, err := tok.Verify(tsa.VerifyOptions{Roots: roots}); err != nil {
		return fmt.Errorf("anchor: time-stamp of checkpoint %d from %s: %w", cp.Size, a.Name, err)
	}
	return nil
}
