package ca

import (
	"fmt"
	"net/url"
	"strings"
)

// RootName is the name of the root CA in URLs and records.
const RootName = "root"

// PlatformName is the name of the issuing CA for Signet's own services
// (time-stamping, later TLS), as opposed to tenants.
const PlatformName = "platform"

// ValidName reports whether name can name a CA: 1–63 lower-case letters,
// digits and hyphens, not starting with a hyphen. Names appear in URLs and
// file names. (A loop rather than a regular expression: compiling
// `^[a-z0-9][a-z0-9-]{0,62}$` at package initialization cost every
// command of the signet binary about 1 ms.)
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 63 || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

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
