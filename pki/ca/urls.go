package ca

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// RootName is the name of the root CA in URLs and records.
const RootName = "root"

// PlatformName is the name of the issuing CA for Signet's own services
// (time-stamping, later TLS), as opposed to tenants.
const PlatformName = "platform"

var caNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidName reports whether name can name a CA: 1–63 lower-case letters,
// digits and hyphens, not starting with a hyphen. Names appear in URLs and
// file names.
func ValidName(name string) bool { return caNameRE.MatchString(name) }

// URLs builds the URLs that certificates point to (RFC 5280 §4.2.1.13,
// §4.2.2.1) from a base URL such as "http://127.0.0.1:8080".
type URLs struct {
	base string
}

// NewURLs checks base (an absolute http or https URL without query or
// fragment) and returns the URL builder.
func NewURLs(base string) (URLs, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return URLs{}, fmt.Errorf("ca: base URL %q must be an absolute http(s) URL", base)
	}
	return URLs{base: strings.TrimRight(base, "/")}, nil
}

// OCSP returns the OCSP responder URL, <base>/ocsp.
func (u URLs) OCSP() string { return u.base + "/ocsp" }

// Issuer returns the URL of CA name's certificate, <base>/ca/<name>.crt.
func (u URLs) Issuer(name string) string { return u.base + "/ca/" + name + ".crt" }

// CRL returns the URL of CA name's CRL, <base>/crl/<name>.crl.
func (u URLs) CRL(name string) string { return u.base + "/crl/" + name + ".crl" }
