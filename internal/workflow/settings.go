package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// MaxConsentText bounds a tenant's consent text, in bytes.
const MaxConsentText = 10000

// DefaultConsentText is the disclosure recipients consent to before they
// sign electronically, where the tenant set none of its own.
const DefaultConsentText = `Consent to use electronic records and signatures

Before you sign, please read this disclosure. By selecting "I agree" you confirm that you have read it and that you consent to do business electronically with the sender of these documents.

1. Electronic signature. You agree that the electronic signature you apply to these documents, whether drawn, typed or given by confirming with your registered authentication method, is your signature and has the same legal effect as a handwritten signature. Under the U.S. Electronic Signatures in Global and National Commerce Act (ESIGN), the Uniform Electronic Transactions Act (UETA) and Regulation (EU) No 910/2014 (eIDAS), a signature or record may not be denied legal effect solely because it is in electronic form.

2. Electronic records. You agree to receive these documents, and the notices related to them, electronically instead of on paper. The signed documents are sealed and time-stamped so that any later change can be detected.

3. Your identity. You confirm that you are the person to whom this request was addressed, and that you will not let anyone else use your link, codes or authentication method to sign in your name.

4. Paper copies and withdrawing consent. You may ask the sender for a paper copy of any document at any time. You may withdraw your consent to use electronic records before you sign by declining to sign; withdrawing does not affect the validity of documents signed before. To do so, or to update your contact details, contact the sender.

5. What you need. To sign and keep these documents you need a device with a current web browser, an e-mail account, and software that can open PDF files. You can download each document before and after signing; keep a copy for your records.

If you do not agree, do not sign: decline instead and tell the sender why.`

// ErrConsentTextChanged means the recipient consented to a consent text
// that is no longer the tenant's (409): they must read the current one.
var ErrConsentTextChanged = &api.Error{Kind: api.KindConflict, Type: "consent-text-changed"}

// Settings are a tenant's settings of the workflow.
type Settings struct {
	// ConsentText is the disclosure recipients consent to before they
	// sign; empty means [DefaultConsentText].
	ConsentText string `json:"consent_text"`
}

// A SettingsStore keeps each tenant's [Settings]. Both drivers implement
// it (table workflow_settings).
type SettingsStore interface {
	// TenantSettings returns tenant's settings, the zero value if none
	// were stored.
	TenantSettings(ctx context.Context, tenant string) (Settings, error)
	// PutTenantSettings stores tenant's settings, replacing any, as of at.
	PutTenantSettings(ctx context.Context, tenant string, st Settings, at time.Time) error
}

// A ConsentText is the text a recipient consents to, with its SHA-256
// (hex) by which they confirm which text they read.
type ConsentText struct {
	Text   string `json:"text"`
	SHA256 string `json:"sha256"`
	// Default reports that the tenant set none and this is
	// [DefaultConsentText].
	Default bool `json:"default"`
}

func consentText(st Settings) ConsentText {
	c := ConsentText{Text: st.ConsentText}
	if c.Text == "" {
		c.Text, c.Default = DefaultConsentText, true
	}
	sum := sha256.Sum256([]byte(c.Text))
	c.SHA256 = hex.EncodeToString(sum[:])
	return c
}

// settingsStore returns Settings, or Documents if it is a SettingsStore.
func (c *Config) settingsStore() SettingsStore {
	if c.Settings != nil {
		return c.Settings
	}
	st, _ := c.Documents.(SettingsStore)
	return st
}

func (s *Service) settings(ctx context.Context, tenant string) (Settings, error) {
	st := s.settingsStore
	if st == nil {
		return Settings{}, nil
	}
	v, err := st.TenantSettings(ctx, tenant)
	if err != nil {
		return Settings{}, fmt.Errorf("workflow: settings: %w", err)
	}
	return v, nil
}

// ConsentText returns tenant's consent text.
func (s *Service) ConsentText(ctx context.Context, tenant string) (ConsentText, error) {
	st, err := s.settings(ctx, tenant)
	if err != nil {
		return ConsentText{}, err
	}
	return consentText(st), nil
}

// SettingsView is how the API shows a tenant's settings.
type SettingsView struct {
	// ConsentText is the text in force (the default if the tenant set
	// none).
	ConsentText string `json:"consent_text"`
	// ConsentSHA256 is its SHA-256 (hex), as recipients confirm it.
	ConsentSHA256 string `json:"consent_sha256"`
	// ConsentDefault reports that the text is [DefaultConsentText].
	ConsentDefault bool `json:"consent_default"`
}

func settingsView(st Settings) SettingsView {
	c := consentText(st)
	return SettingsView{ConsentText: c.Text, ConsentSHA256: c.SHA256, ConsentDefault: c.Default}
}

// TenantSettings returns the acting tenant's settings.
func (s *Service) TenantSettings(ctx context.Context, a Actor) (SettingsView, error) {
	if a.Tenant == "" {
		return SettingsView{}, withDetail(ErrInvalid, "settings belong to a tenant", nil)
	}
	st, err := s.settings(ctx, a.Tenant)
	if err != nil {
		return SettingsView{}, err
	}
	return settingsView(st), nil
}

// SetTenantSettings replaces the acting tenant's settings by st (an empty
// consent text restores the default) and records admin.policy_changed
// with the new text's SHA-256. The text is valid UTF-8 of at most
// [MaxConsentText] bytes, without bidirectional controls.
func (s *Service) SetTenantSettings(ctx context.Context, a Actor, st Settings) (SettingsView, error) {
	if a.Tenant == "" {
		return SettingsView{}, withDetail(ErrInvalid, "settings belong to a tenant", nil)
	}
	st.ConsentText = strings.TrimSpace(st.ConsentText)
	if err := checkText("consent_text", st.ConsentText, MaxConsentText, false); err != nil {
		return SettingsView{}, err
	}
	store := s.settingsStore
	if store == nil {
		return SettingsView{}, errors.New("workflow: no settings store")
	}
	v := settingsView(st)
	details := map[string]string{"setting": "consent_text", "consent_sha256": v.ConsentSHA256}
	if v.ConsentDefault {
		details["consent_default"] = "true"
	}
	if _, err := s.record(ctx, a, audit{typ: auditlog.AdminPolicyChanged, tenant: a.Tenant, details: details}); err != nil {
		return SettingsView{}, err
	}
	if err := store.PutTenantSettings(ctx, a.Tenant, st, s.now()); err != nil {
		return SettingsView{}, fmt.Errorf("workflow: store settings: %w", err)
	}
	return v, nil
}

// checkDigest reports whether v is a lowercase hex SHA-256.
func checkDigest(v string) bool {
	b, err := hex.DecodeString(v)
	return err == nil && len(b) == sha256.Size && hex.EncodeToString(b) == v
}
