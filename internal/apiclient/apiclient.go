// Package apiclient is a small client of Signet's HTTP API, for
// `signet quickstart`, the end-to-end tests and the load generator. It
// covers the calls of one signing flow: tenants, service account keys and
// access tokens, documents,
// envelopes and the recipient endpoints.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
)

// A Problem is an RFC 9457 problem answered by the server.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	// ContentType is the response's media type.
	ContentType string `json:"-"`
	// RetryAfter is the Retry-After header, if any.
	RetryAfter string `json:"-"`
}

// Error describes the problem.
func (p *Problem) Error() string {
	return fmt.Sprintf("apiclient: %d %s: %s", p.Status, p.Type, p.Detail)
}

// Slug returns the last segment of the problem type URI.
func (p *Problem) Slug() string { return p.Type[strings.LastIndexByte(p.Type, '/')+1:] }

// Client calls the API at Base (e.g. "https://127.0.0.1:8443").
type Client struct {
	Base string
	HTTP *http.Client
	// Authorization is sent with every request, e.g. "Bearer sk_...".
	Authorization string
}

// WithAuth returns a copy of c that sends authorization.
func (c *Client) WithAuth(authorization string) *Client {
	cc := *c
	cc.Authorization = authorization
	return &cc
}

// Do sends a request with body (JSON-encoded unless it is []byte, sent as
// contentType) and decodes a JSON answer into out (or copies it into out
// if out is *[]byte). A status of 400 or more is returned as a *Problem.
func (c *Client) Do(ctx context.Context, method, path string, body any, contentType string, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd, contentType = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		p := &Problem{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), RetryAfter: resp.Header.Get("Retry-After")}
		if err := json.Unmarshal(data, p); err != nil {
			p.Detail = strings.TrimSpace(string(data))
		}
		return resp.StatusCode, p
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("apiclient: %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Tenant is a created tenant.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CreateTenant creates a tenant (platform administrator only).
func (c *Client) CreateTenant(ctx context.Context, name string) (Tenant, error) {
	var t Tenant
	_, err := c.Do(ctx, "POST", "/v1/tenants", map[string]string{"name": name}, "", &t)
	return t, err
}

// keyRequest is the body of both key creation routes.
func keyRequest(name string, roles, actions []string) map[string]any {
	body := map[string]any{"name": name}
	if len(roles) > 0 {
		body["roles"] = roles
	}
	if len(actions) > 0 {
		body["actions"] = actions
	}
	return body
}

// CreateKey provisions a service account key of tenant with roles and
// actions (none: the roles' built-in actions) through the platform
// administrator's route, POST /v1/tenants/{id}/api-keys, and returns its
// secret.
func (c *Client) CreateKey(ctx context.Context, tenant, name string, roles []string, actions []string) (string, error) {
	var k struct {
		Secret string `json:"secret"`
	}
	_, err := c.Do(ctx, "POST", "/v1/tenants/"+url.PathEscape(tenant)+"/api-keys", keyRequest(name, roles, actions), "", &k)
	return k.Secret, err
}

// CreateOwnKey creates a service account key of the caller's own tenant
// (POST /v1/api-keys, a tenant administrator) with roles and actions, and
// returns its secret.
func (c *Client) CreateOwnKey(ctx context.Context, name string, roles []string, actions []string) (string, error) {
	var k struct {
		Secret string `json:"secret"`
	}
	_, err := c.Do(ctx, "POST", "/v1/api-keys", keyRequest(name, roles, actions), "", &k)
	return k.Secret, err
}

// An AccessToken is a short-lived bearer token exchanged for an API key.
type AccessToken struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
	Actions     []string `json:"actions"`
}

// ExchangeToken exchanges the client's API key (its Authorization) for an
// access token living expiresIn seconds (0: the longest, 15 minutes),
// narrowed to actions (none: all of the key's).
func (c *Client) ExchangeToken(ctx context.Context, actions []string, expiresIn int) (AccessToken, error) {
	body := map[string]any{}
	if len(actions) > 0 {
		body["actions"] = actions
	}
	if expiresIn > 0 {
		body["expires_in"] = expiresIn
	}
	var t AccessToken
	_, err := c.Do(ctx, "POST", "/v1/tokens", body, "", &t)
	return t, err
}

// Upload uploads a PDF.
func (c *Client) Upload(ctx context.Context, name string, pdf []byte) (workflow.Document, error) {
	var d workflow.Document
	_, err := c.Do(ctx, "POST", "/v1/documents?name="+url.QueryEscape(name), pdf, "application/pdf", &d)
	return d, err
}

// CreateEnvelope creates a draft envelope.
func (c *Client) CreateEnvelope(ctx context.Context, req workflow.CreateRequest) (workflow.Envelope, error) {
	var e workflow.Envelope
	_, err := c.Do(ctx, "POST", "/v1/envelopes", req, "", &e)
	return e, err
}

// Send sends envelope id to its first recipients.
func (c *Client) Send(ctx context.Context, id string) (workflow.Envelope, error) {
	var e workflow.Envelope
	_, err := c.Do(ctx, "POST", "/v1/envelopes/"+id+"/send", nil, "", &e)
	return e, err
}

// Envelope returns envelope id.
func (c *Client) Envelope(ctx context.Context, id string) (workflow.Envelope, error) {
	var e workflow.Envelope
	_, err := c.Do(ctx, "GET", "/v1/envelopes/"+id, nil, "", &e)
	return e, err
}

// Content downloads the current version of a document of an envelope.
func (c *Client) Content(ctx context.Context, envelopeID, documentID string) ([]byte, error) {
	var b []byte
	_, err := c.Do(ctx, "GET", "/v1/envelopes/"+envelopeID+"/documents/"+documentID+"/content", nil, "", &b)
	return b, err
}

// Void voids an envelope with reason.
func (c *Client) Void(ctx context.Context, id, reason string) (workflow.Envelope, error) {
	var e workflow.Envelope
	_, err := c.Do(ctx, "POST", "/v1/envelopes/"+url.PathEscape(id)+"/void", map[string]string{"reason": reason}, "", &e)
	return e, err
}

// ReissueLink re-issues a recipient's link: the earlier ones are revoked
// and a new one is emailed to the recipient.
func (c *Client) ReissueLink(ctx context.Context, envelopeID, recipientID string) (signing.Reissued, error) {
	var r signing.Reissued
	_, err := c.Do(ctx, "POST", "/v1/envelopes/"+url.PathEscape(envelopeID)+"/recipients/"+url.PathEscape(recipientID)+"/reissue", nil, "", &r)
	return r, err
}

// Recipient returns a client acting with a recipient's link token.
func (c *Client) Recipient(link string) *Client { return c.WithAuth(signing.SchemeLink + " " + link) }

// SendCode asks for a one-time code (link authorization).
func (c *Client) SendCode(ctx context.Context) error {
	_, err := c.Do(ctx, "POST", "/v1/recipient/code", nil, "", nil)
	return err
}

// Verify exchanges a code for a session and returns a client acting with
// it.
func (c *Client) Verify(ctx context.Context, code string) (*Client, error) {
	var v struct {
		Session   string    `json:"session"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if _, err := c.Do(ctx, "POST", "/v1/recipient/verify", map[string]string{"code": code}, "", &v); err != nil {
		return nil, err
	}
	return c.WithAuth(signing.SchemeSession + " " + v.Session), nil
}

// View returns the recipient's view (session authorization).
func (c *Client) View(ctx context.Context) (signing.View, error) {
	var v signing.View
	_, err := c.Do(ctx, "GET", "/v1/recipient/envelope", nil, "", &v)
	return v, err
}

// Consent consents to sign electronically.
func (c *Client) Consent(ctx context.Context) error {
	_, err := c.Do(ctx, "POST", "/v1/recipient/consent", map[string]bool{"consent": true}, "", nil)
	return err
}

// Sign signs every document of the envelope.
func (c *Client) Sign(ctx context.Context) (signing.SignResult, error) {
	var r signing.SignResult
	_, err := c.Do(ctx, "POST", "/v1/recipient/sign", nil, "", &r)
	return r, err
}

// Decline declines with reason.
func (c *Client) Decline(ctx context.Context, reason string) error {
	_, err := c.Do(ctx, "POST", "/v1/recipient/decline", map[string]string{"reason": reason}, "", nil)
	return err
}

// RecipientDocument downloads a document of the recipient's envelope.
func (c *Client) RecipientDocument(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	_, err := c.Do(ctx, "GET", "/v1/recipient/documents/"+url.PathEscape(id), nil, "", &b)
	return b, err
}

// Evidence streams the evidence bundle of envelope id to w. A refusal is
// a *Problem (503 checkpoint-pending with RetryAfter while the audit log
// has not yet published a checkpoint covering the envelope). A response
// that ends early is an error: w then holds an incomplete bundle, which
// the caller must discard.
func (c *Client) Evidence(ctx context.Context, id string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+"/v1/envelopes/"+url.PathEscape(id)+"/evidence", nil)
	if err != nil {
		return err
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		p := &Problem{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), RetryAfter: resp.Header.Get("Retry-After")}
		if err := json.Unmarshal(data, p); err != nil {
			p.Detail = strings.TrimSpace(string(data))
		}
		return p
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		return fmt.Errorf("apiclient: evidence: answered %q, not application/zip", ct)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("apiclient: evidence: the bundle ended early: %w", err)
	}
	return nil
}
