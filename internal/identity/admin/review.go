package admin

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// A ReviewKey is a service account (an API key) as the caller
// (internal/accounts) describes it for the access review.
type ReviewKey struct {
	// ID and Name identify the key.
	ID, Name string
	// Roles are the roles the key was granted; Actions the actions it is
	// bound to.
	Roles, Actions []string
	// Owner is who created the key.
	Owner string
	// CreatedAt, ExpiresAt (zero: none), LastUsedAt (zero: never) and
	// RevokedAt (zero: not revoked).
	CreatedAt, ExpiresAt, LastUsedAt, RevokedAt time.Time
}

// Principal kinds of a review.
const (
	KindUser           = "user"
	KindServiceAccount = "service-account"
)

// MFA statuses of a review.
const (
	MFANone          = "none"
	MFATOTP          = "totp"
	MFAPasskey       = "passkey"
	MFATOTPPasskey   = "totp+passkey"
	MFANotApplicable = "not-applicable"
)

// A Review is an access review of one tenant: every principal with its
// roles, grants, last use and MFA status, at one time.
type Review struct {
	Tenant      string            `json:"tenant"`
	GeneratedAt time.Time         `json:"generated_at"`
	Principals  []ReviewPrincipal `json:"principals"`
}

// A ReviewPrincipal is one user or service account in a [Review].
type ReviewPrincipal struct {
	// Kind is "user" or "service-account".
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
	// Email is a user's address.
	Email string `json:"email,omitempty"`
	// Status is active or disabled for a user; active, expired or revoked
	// for a service account.
	Status string `json:"status"`
	// HasPassword says whether a user has set a password (an invited user
	// has not).
	HasPassword bool `json:"has_password"`
	// Roles are the roles of the grants in force now under the tenant's
	// policy ([Grant.Effective]), sorted.
	Roles []string `json:"roles"`
	// Actions are a service account's bound actions.
	Actions []string `json:"actions,omitempty"`
	// Grants are every unrevoked grant, ended ones included.
	Grants []Grant `json:"grants"`
	// Owner is who created a service account.
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// LastUsed is a user's latest session activity or a key's last use;
	// zero if unknown or never.
	LastUsed time.Time `json:"last_used,omitzero"`
	MFA      ReviewMFA `json:"mfa"`
}

// ReviewMFA is a principal's second factors.
type ReviewMFA struct {
	// Status is none, totp, passkey, totp+passkey, or not-applicable
	// (service accounts).
	Status string `json:"status"`
	// TOTP says whether a confirmed TOTP enrolment exists.
	TOTP bool `json:"totp"`
	// Passkeys counts the registered passkeys; absent if unknown.
	Passkeys *int `json:"passkeys,omitempty"`
}

// Review builds the access review of tenant at the service's clock, with
// the service accounts keys (at most [MaxReviewKeys]). It fails rather
// than return a part: beyond [MaxReviewUsers] users, or if any record
// cannot be read.
func (s *Service) Review(ctx context.Context, tenant string, keys []ReviewKey) (Review, error) {
	if tenant == "" {
		return Review{}, errors.New("admin: review: no tenant")
	}
	if len(keys) > MaxReviewKeys {
		return Review{}, fmt.Errorf("admin: review: %d service accounts, at most %d", len(keys), MaxReviewKeys)
	}
	now := s.cfg.Now()
	policy, err := s.cfg.Store.Policy(ctx, tenant)
	if err != nil {
		return Review{}, fmt.Errorf("admin: review: %w", err)
	}
	rv := Review{Tenant: tenant, GeneratedAt: now.UTC(), Principals: []ReviewPrincipal{}}
	after := ""
	for n := 0; ; {
		us, err := s.cfg.Store.ListUsers(ctx, tenant, after, identity.MaxList)
		if err != nil {
			return Review{}, fmt.Errorf("admin: review: %w", err)
		}
		if n += len(us); n > MaxReviewUsers {
			return Review{}, fmt.Errorf("admin: review: more than %d users", MaxReviewUsers)
		}
		for _, u := range us {
			p, err := s.reviewUser(ctx, u, policy, now)
			if err != nil {
				return Review{}, fmt.Errorf("admin: review: user %s: %w", u.ID, err)
			}
			rv.Principals = append(rv.Principals, p)
		}
		if len(us) < identity.MaxList {
			break
		}
		after = us[len(us)-1].ID
	}
	ks := slices.Clone(keys)
	slices.SortFunc(ks, func(a, b ReviewKey) int { return strings.Compare(a.ID, b.ID) })
	for _, k := range ks {
		rv.Principals = append(rv.Principals, reviewKey(k, policy, now))
	}
	return rv, nil
}

func (s *Service) reviewUser(ctx context.Context, u identity.User, policy authz.TenantPolicy, now time.Time) (ReviewPrincipal, error) {
	p := ReviewPrincipal{Kind: KindUser, ID: u.ID, Name: u.Name, Email: u.Email, Status: string(u.Status),
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt.UTC(), Roles: []string{}, Grants: []Grant{}}
	gs, err := s.cfg.Store.Grants(ctx, u.Tenant, u.ID)
	if err != nil {
		return p, err
	}
	for _, g := range gs {
		rg := grantOf(g, policy, now)
		p.Grants = append(p.Grants, rg)
		if rg.Effective && u.Status == identity.StatusActive && !slices.Contains(p.Roles, g.Role) {
			p.Roles = append(p.Roles, g.Role)
		}
	}
	slices.Sort(p.Roles)
	if p.LastUsed, err = s.cfg.Store.LastSeen(ctx, u.Tenant, u.ID); err != nil {
		return p, err
	}
	p.LastUsed = p.LastUsed.UTC()
	e, err := s.cfg.Store.TOTP(ctx, u.Tenant, u.ID)
	switch {
	case err == nil:
		p.MFA.TOTP = !e.ConfirmedAt.IsZero()
	case !errors.Is(err, identity.ErrNotFound):
		return p, err
	}
	if s.cfg.Passkeys != nil {
		n, err := s.cfg.Passkeys(ctx, u.Tenant, u.ID)
		if err != nil {
			return p, err
		}
		p.MFA.Passkeys = &n
	}
	pk := p.MFA.Passkeys != nil && *p.MFA.Passkeys > 0
	switch {
	case p.MFA.TOTP && pk:
		p.MFA.Status = MFATOTPPasskey
	case p.MFA.TOTP:
		p.MFA.Status = MFATOTP
	case pk:
		p.MFA.Status = MFAPasskey
	default:
		p.MFA.Status = MFANone
	}
	return p, nil
}

func reviewKey(k ReviewKey, policy authz.TenantPolicy, now time.Time) ReviewPrincipal {
	p := ReviewPrincipal{Kind: KindServiceAccount, ID: k.ID, Name: k.Name, Status: "active", Owner: k.Owner,
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: k.ExpiresAt.UTC(), LastUsed: k.LastUsedAt.UTC(),
		Actions: slices.Clone(k.Actions), Roles: []string{}, Grants: []Grant{}, MFA: ReviewMFA{Status: MFANotApplicable}}
	switch {
	case !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt):
		p.Status = "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		p.Status = "expired"
	}
	for _, r := range k.Roles {
		g := Grant{Role: r, GrantedBy: k.Owner, GrantedAt: k.CreatedAt.UTC(), NotAfter: k.ExpiresAt.UTC(), Active: p.Status == "active"}
		g.Effective = effective(policy, r, g.Active, false)
		p.Grants = append(p.Grants, g)
		if g.Effective && !slices.Contains(p.Roles, r) {
			p.Roles = append(p.Roles, r)
		}
	}
	slices.Sort(p.Roles)
	return p
}

// CSVHeader is the first record of [Review.WriteCSV].
var CSVHeader = []string{
	"kind", "id", "name", "email", "status", "has_password", "roles", "actions", "mfa", "totp", "passkeys",
	"last_used", "created_at", "expires_at", "owner",
	"grant_id", "grant_role", "granted_by", "granted_at", "grant_not_before", "grant_not_after",
	"elevation_id", "break_glass", "grant_active", "grant_effective",
}

// WriteCSV writes rv as RFC 4180 CSV (CRLF line ends, quoted as needed):
// a header ([CSVHeader]), then one record per grant, and one record for a
// principal without grants. Lists are space-separated, times RFC 3339 in
// UTC. A cell that a spreadsheet would read as a formula (it starts with
// =, +, -, @, a tab or a carriage return) is prefixed with a single
// quote.
func (rv Review) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, p := range rv.Principals {
		passkeys := ""
		if p.MFA.Passkeys != nil {
			passkeys = strconv.Itoa(*p.MFA.Passkeys)
		}
		head := []string{
			p.Kind, p.ID, p.Name, p.Email, p.Status, strconv.FormatBool(p.HasPassword), strings.Join(p.Roles, " "),
			strings.Join(p.Actions, " "), p.MFA.Status, strconv.FormatBool(p.MFA.TOTP), passkeys,
			formatTime(p.LastUsed), formatTime(p.CreatedAt), formatTime(p.ExpiresAt), p.Owner,
		}
		rows := [][]string{}
		for _, g := range p.Grants {
			rows = append(rows, []string{g.ID, g.Role, g.GrantedBy, formatTime(g.GrantedAt), formatTime(g.NotBefore),
				formatTime(g.NotAfter), g.ElevationID, strconv.FormatBool(g.BreakGlass), strconv.FormatBool(g.Active),
				strconv.FormatBool(g.Effective)})
		}
		if len(rows) == 0 {
			rows = append(rows, make([]string, 10))
		}
		for _, row := range rows {
			rec := append(slices.Clone(head), row...)
			for i, c := range rec {
				rec[i] = neutralize(c)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralize prefixes a cell that a spreadsheet would evaluate as a
// formula with a single quote (OWASP's CSV injection advice).
func neutralize(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// WriteJSON writes rv as one indented JSON object.
func (rv Review) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rv)
}

func (s *Service) handleReview(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		api.WriteProblem(w, r, invalid("format is csv or json"))
		return
	}
	ctx := r.Context()
	var keys []ReviewKey
	if s.cfg.Keys != nil {
		if keys, err = s.cfg.Keys(ctx, p.Tenant); err != nil {
			api.WriteProblem(w, r, &api.Error{Kind: api.KindUnavailable, Detail: "the service accounts cannot be listed now", Err: err})
			return
		}
	}
	rv, err := s.Review(ctx, p.Tenant, keys)
	if err != nil {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindUnavailable, Detail: "the review cannot be built now", Err: err})
		return
	}
	var buf strings.Builder
	if format == "csv" {
		err = rv.WriteCSV(&buf)
	} else {
		err = rv.WriteJSON(&buf)
	}
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
		w.Header().Set("Content-Disposition", `attachment; filename="access-review.csv"`)
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, buf.String())
}
