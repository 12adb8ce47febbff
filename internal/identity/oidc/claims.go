package oidc

import (
	"context"
	"fmt"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// identity builds the Identity from verified ID token claims, reading
// from the UserInfo endpoint the e-mail address, name and groups that the
// ID token lacks (many providers put only sub and the authentication
// claims in it).
func (c *Client) identity(ctx context.Context, token *oauth2.Token, claims *zoidc.IDTokenClaims) (Identity, error) {
	id := Identity{
		Issuer:        claims.Issuer,
		Subject:       claims.Subject,
		Email:         claims.Email,
		EmailVerified: bool(claims.EmailVerified),
		Name:          claims.Name,
		AMR:           claims.AuthenticationMethodsReferences,
		ACR:           claims.AuthenticationContextClassReference,
		AuthTime:      claims.GetAuthTime(),
	}
	rawGroups, haveGroups := claims.Claims[c.p.GroupsClaim]
	if (id.Email == "" || id.Name == "" || !haveGroups) && c.rp.UserinfoEndpoint() != "" && token.AccessToken != "" {
		info, err := rp.Userinfo[*zoidc.UserInfo](ctx, token.AccessToken, token.Type(), id.Subject, c.rp)
		if err != nil {
			return Identity{}, c.errorf(ErrClaims, "userinfo: %v", err)
		}
		if id.Email == "" {
			id.Email, id.EmailVerified = info.Email, bool(info.EmailVerified)
		}
		if id.Name == "" {
			id.Name = info.Name
		}
		if !haveGroups {
			rawGroups, haveGroups = info.Claims[c.p.GroupsClaim]
		}
	}
	if haveGroups {
		groups, err := stringList(rawGroups, maxGroups, maxGroupLen)
		if err != nil {
			return Identity{}, c.errorf(ErrClaims, "%s: %v", c.p.GroupsClaim, err)
		}
		slices.Sort(groups)
		id.Groups = slices.Compact(groups)
	}
	if len(id.AMR) > maxAMR {
		return Identity{}, c.errorf(ErrClaims, "amr: more than %d values", maxAMR)
	}
	id.AMR = slices.Clone(id.AMR)
	for name, v := range map[string]string{"sub": id.Subject, "email": id.Email, "name": id.Name, "acr": id.ACR} {
		if len(v) > maxClaimLen {
			return Identity{}, c.errorf(ErrClaims, "%s: longer than %d bytes", name, maxClaimLen)
		}
	}
	for _, v := range id.AMR {
		if len(v) > 64 {
			return Identity{}, c.errorf(ErrClaims, "amr: a value longer than 64 bytes")
		}
	}
	id.TrustedACR = id.ACR != "" && slices.Contains(c.p.StrongACR, id.ACR)
	return id, nil
}

// stringList converts a JSON array of strings (as decoded into any) of at
// most n elements of at most l bytes each.
func stringList(v any, n, l int) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("not an array of strings")
	}
	if len(a) > n {
		return nil, fmt.Errorf("more than %d values", n)
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("not an array of strings")
		}
		if s == "" || len(s) > l {
			return nil, fmt.Errorf("a value of 0 or more than %d bytes", l)
		}
		out = append(out, s)
	}
	return out, nil
}
