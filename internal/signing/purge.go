package signing

import (
	"context"

	"github.com/signet-pki/signet/internal/workflow"
)

// An EnvelopePurger is a [Store] that can delete everything it keeps
// about an envelope's recipients: links, sessions and code state. Both
// drivers implement it.
type EnvelopePurger interface {
	PurgeEnvelope(ctx context.Context, envelopeID string) error
}

var _ workflow.RecipientsPurger = (*Notifier)(nil)

// PurgeRecipients implements [workflow.RecipientsPurger]: when retention
// purges an envelope, the recipient side's rows of it go too (links and
// sessions are already cut off once an envelope ends; what they sealed is
// shredded with the recipients' objects). A store that cannot purge is
// left as it is.
func (n *Notifier) PurgeRecipients(ctx context.Context, envelopeID string) error {
	if p, ok := n.rawStore.(EnvelopePurger); ok {
		return p.PurgeEnvelope(ctx, envelopeID)
	}
	return nil
}
