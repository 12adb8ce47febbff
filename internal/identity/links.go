package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of an [ExternalLink]'s fields, in bytes. The OIDC client
// (internal/identity/oidc) refuses longer claims already.
const (
	MaxIssuer  = 1024
	MaxSubject = 1024
)

// An ExternalLink binds a user to their account at an external identity
// provider: the OIDC issuer and the subject it names the user by, the only
// stable key of that account (an e-mail address can change, or pass to
// another person).
type ExternalLink struct {
	// Tenant and UserID name the linked user.
	Tenant, UserID string
	// Issuer is the provider's issuer identifier (the ID token's iss).
	Issuer string
	// Subject is the provider's identifier of the account (sub).
	Subject string
	// CreatedAt is when the link was made.
	CreatedAt time.Time
}

// Validate checks l before it is stored: tenant, user, issuer and subject
// present, bounded and UTF-8, and a creation time.
func (l ExternalLink) Validate() error {
	if err := errors.Join(
		text("tenant", l.Tenant, MaxID, true),
		text("user id", l.UserID, MaxID, true),
		text("issuer", l.Issuer, MaxIssuer, true),
		text("subject", l.Subject, MaxSubject, true),
	); err != nil {
		return err
	}
	if l.CreatedAt.IsZero() {
		return fmt.Errorf("%w: external link without a creation time", ErrInvalid)
	}
	return nil
}

// SortExternalLinks orders links as [Links.ExternalLinksOf] returns them:
// by CreatedAt, then issuer.
func SortExternalLinks(ls []ExternalLink) {
	slices.SortFunc(ls, func(a, b ExternalLink) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.Issuer, b.Issuer))
	})
}

// Links keeps the bindings of users to their accounts at external
// identity providers. A user has at most one link per issuer and an
// issuer's subject at most one user per tenant; links stay when a user is
// disabled, so that the provider account cannot reach another user.
// Every method is atomic; every method naming a tenant sees only that
// tenant's records.
type Links interface {
	// LinkExternal stores a new link ([ExternalLink.Validate]) of an
	// active user of the tenant: ErrNotFound for no such user,
	// ErrDisabled for a disabled one, ErrExists if (issuer, subject) is
	// linked already in the tenant or the user has a link to that issuer
	// (of racing links of one subject exactly one succeeds, on any node).
	LinkExternal(ctx context.Context, l ExternalLink) error
	// ExternalLink returns the tenant's link of (issuer, subject);
	// ErrNotFound if there is none.
	ExternalLink(ctx context.Context, tenant, issuer, subject string) (ExternalLink, error)
	// ExternalLinksOf returns the user's links, oldest first (none is not
	// an error); [ErrLimit] beyond [MaxList].
	ExternalLinksOf(ctx context.Context, tenant, userID string) ([]ExternalLink, error)
}
