package keyref

import (
	"fmt"
	"strconv"
	"strings"
)

// A PKCS11URI is a parsed PKCS#11 URI (RFC 7512), naming a key on a token
// and, optionally, the module that drives the token and where to find the
// PIN.
//
// An attribute given with an empty value is treated as absent. Vendor
// attributes (names starting with "x-", RFC 7512 §2.3) are kept so that
// String reproduces them, but Signet gives them no meaning.
type PKCS11URI struct {
	// Path attributes (RFC 7512 §2.3), pct-decoded.
	Token               string // CK_TOKEN_INFO label
	Manufacturer        string // CK_TOKEN_INFO manufacturerID
	Serial              string // CK_TOKEN_INFO serialNumber
	Model               string // CK_TOKEN_INFO model
	LibraryManufacturer string // CK_INFO manufacturerID
	LibraryDescription  string // CK_INFO libraryDescription
	LibraryVersion      string // CK_INFO libraryVersion, "M" or "M.N"
	Object              string // CKA_LABEL
	Type                string // "public", "private", "cert", "secret-key" or "data" (CKA_CLASS)
	ID                  []byte // CKA_ID, raw bytes
	SlotManufacturer    string // CK_SLOT_INFO manufacturerID
	SlotDescription     string // CK_SLOT_INFO slotDescription
	SlotID              *uint64
	// VendorPath holds "x-" path attributes in the order given.
	VendorPath []PKCS11Attr

	// Query attributes (RFC 7512 §2.3), pct-decoded.
	PINSource  string // where to read the PIN, e.g. "file:/path"
	PINValue   string // the PIN itself
	ModuleName string // module name without path or suffix, e.g. "softhsm2"
	ModulePath string // absolute path of the module (.so)
	// VendorQuery holds "x-" query attributes in the order given.
	VendorQuery []PKCS11Attr
}

// A PKCS11Attr is one vendor-specific attribute of a PKCS#11 URI, with its
// value pct-decoded.
type PKCS11Attr struct {
	Name, Value string
}

const pkcs11Scheme = "pkcs11:"

// Characters allowed unencoded in attribute values (RFC 7512 §2.3):
// unreserved characters and pk11-res-avail, plus "&" in the path and
// "/", "?" and "|" in the query.
const (
	pk11Unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	pk11ResAvail   = ":[]@!$'()*+,="
	pk11PathChars  = pk11Unreserved + pk11ResAvail + "&"
	pk11QueryChars = pk11Unreserved + pk11ResAvail + "/?|"
)

var pk11Types = map[string]bool{"public": true, "private": true, "cert": true, "secret-key": true, "data": true}

// ParsePKCS11URI parses a PKCS#11 URI as defined in RFC 7512 §2.3. The
// scheme name is matched without regard to case; attribute names are case
// sensitive. Standard attributes may appear at most once, pin-source and
// pin-value are mutually exclusive, and unknown attributes other than
// vendor-specific "x-" ones are rejected. Errors wrap ErrInvalidURI and
// never repeat attribute values, which may hold a PIN.
func ParsePKCS11URI(s string) (*PKCS11URI, error) {
	if !hasPrefixFold(s, pkcs11Scheme) {
		return nil, errorf(ErrInvalidURI, "invalid PKCS#11 URI: missing %q scheme", pkcs11Scheme)
	}
	rest := s[len(pkcs11Scheme):]
	path, query, hasQuery := strings.Cut(rest, "?")
	u := &PKCS11URI{}
	seen := map[string]bool{}
	if path != "" {
		for _, attr := range strings.Split(path, ";") {
			name, raw, err := splitAttr(attr, "path")
			if err != nil {
				return nil, err
			}
			val, err := pctDecode(raw, pk11PathChars, name)
			if err != nil {
				return nil, err
			}
			if err := u.setPath(name, val, seen); err != nil {
				return nil, err
			}
		}
	}
	if hasQuery && query != "" {
		for _, attr := range strings.Split(query, "&") {
			name, raw, err := splitAttr(attr, "query")
			if err != nil {
				return nil, err
			}
			val, err := pctDecode(raw, pk11QueryChars, name)
			if err != nil {
				return nil, err
			}
			if err := u.setQuery(name, val, seen); err != nil {
				return nil, err
			}
		}
	}
	if u.PINSource != "" && u.PINValue != "" {
		return nil, errorf(ErrInvalidURI, "invalid PKCS#11 URI: both pin-source and pin-value given")
	}
	return u, nil
}

func splitAttr(attr, component string) (name, value string, err error) {
	name, value, ok := strings.Cut(attr, "=")
	if !ok || name == "" {
		return "", "", errorf(ErrInvalidURI, "invalid PKCS#11 URI: malformed %s attribute (want name=value)", component)
	}
	return name, value, nil
}

// isVendorName reports whether name is a vendor-specific attribute name:
// "x-" followed by one or more ALPHA / DIGIT / "-" / "_" (RFC 7512 §2.3).
func isVendorName(name string) bool {
	if len(name) < 3 || !strings.HasPrefix(name, "x-") {
		return false
	}
	for i := 2; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (u *PKCS11URI) setPath(name, val string, seen map[string]bool) error {
	if isVendorName(name) {
		if val != "" {
			u.VendorPath = append(u.VendorPath, PKCS11Attr{name, val})
		}
		return nil
	}
	key := "p:" + name
	if seen[key] {
		return errorf(ErrInvalidURI, "invalid PKCS#11 URI: path attribute %q repeated", name)
	}
	seen[key] = true
	switch name {
	case "token":
		u.Token = val
	case "manufacturer":
		u.Manufacturer = val
	case "serial":
		u.Serial = val
	case "model":
		u.Model = val
	case "library-manufacturer":
		u.LibraryManufacturer = val
	case "library-description":
		u.LibraryDescription = val
	case "library-version":
		if val != "" && !validLibraryVersion(val) {
			return errorf(ErrInvalidURI, "invalid PKCS#11 URI: library-version must be digits[.digits]")
		}
		u.LibraryVersion = val
	case "object":
		u.Object = val
	case "type":
		if val != "" && !pk11Types[val] {
			return errorf(ErrInvalidURI, "invalid PKCS#11 URI: type must be public, private, cert, secret-key or data")
		}
		u.Type = val
	case "id":
		if val != "" {
			u.ID = []byte(val)
		}
	case "slot-manufacturer":
		u.SlotManufacturer = val
	case "slot-description":
		u.SlotDescription = val
	case "slot-id":
		if val == "" {
			return nil
		}
		if !allDigits(val) {
			return errorf(ErrInvalidURI, "invalid PKCS#11 URI: slot-id must be a decimal number")
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return errorf(ErrInvalidURI, "invalid PKCS#11 URI: slot-id out of range")
		}
		u.SlotID = &n
	default:
		return errorf(ErrInvalidURI, "invalid PKCS#11 URI: unknown path attribute %q", printableName(name))
	}
	return nil
}

func (u *PKCS11URI) setQuery(name, val string, seen map[string]bool) error {
	if isVendorName(name) {
		if val != "" {
			u.VendorQuery = append(u.VendorQuery, PKCS11Attr{name, val})
		}
		return nil
	}
	key := "q:" + name
	if seen[key] {
		return errorf(ErrInvalidURI, "invalid PKCS#11 URI: query attribute %q repeated", name)
	}
	seen[key] = true
	switch name {
	case "pin-source":
		u.PINSource = val
	case "pin-value":
		u.PINValue = val
	case "module-name":
		u.ModuleName = val
	case "module-path":
		u.ModulePath = val
	default:
		return errorf(ErrInvalidURI, "invalid PKCS#11 URI: unknown query attribute %q", printableName(name))
	}
	return nil
}

// printableName shortens and sanitizes an attribute name for an error
// message so that a malformed URI cannot inject lines or long text.
func printableName(name string) string {
	if len(name) > 32 {
		name = name[:32] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, name)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validLibraryVersion(v string) bool {
	major, minor, hasMinor := strings.Cut(v, ".")
	return allDigits(major) && (!hasMinor || allDigits(minor))
}

// pctDecode decodes %XX escapes (RFC 3986 §2.1) in raw, which must
// otherwise contain only characters from allowed.
func pctDecode(raw, allowed, name string) (string, error) {
	if !strings.Contains(raw, "%") {
		for i := 0; i < len(raw); i++ {
			if strings.IndexByte(allowed, raw[i]) < 0 {
				return "", errorf(ErrInvalidURI, "invalid PKCS#11 URI: character %q must be pct-encoded in %s", raw[i], printableName(name))
			}
		}
		return raw, nil
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", errorf(ErrInvalidURI, "invalid PKCS#11 URI: bad pct-encoding in %s", printableName(name))
			}
			b.WriteByte(unhex(raw[i+1])<<4 | unhex(raw[i+2]))
			i += 2
			continue
		}
		if strings.IndexByte(allowed, c) < 0 {
			return "", errorf(ErrInvalidURI, "invalid PKCS#11 URI: character %q must be pct-encoded in %s", c, printableName(name))
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// String returns u in the canonical form of RFC 7512 §2.3: the scheme in
// lower case, standard attributes in the order the RFC lists them, then
// vendor attributes, with every character outside the unreserved set
// pct-encoded (and the id always fully pct-encoded). The result holds the
// PIN if PINValue is set; use Redacted for messages and logs.
func (u *PKCS11URI) String() string {
	var path []string
	add := func(name, val string) {
		if val != "" {
			path = append(path, name+"="+pctEncode(val, false))
		}
	}
	add("token", u.Token)
	add("manufacturer", u.Manufacturer)
	add("serial", u.Serial)
	add("model", u.Model)
	add("library-manufacturer", u.LibraryManufacturer)
	add("library-description", u.LibraryDescription)
	add("library-version", u.LibraryVersion)
	add("object", u.Object)
	add("type", u.Type)
	if len(u.ID) > 0 {
		path = append(path, "id="+pctEncode(string(u.ID), true))
	}
	add("slot-manufacturer", u.SlotManufacturer)
	add("slot-description", u.SlotDescription)
	if u.SlotID != nil {
		path = append(path, "slot-id="+strconv.FormatUint(*u.SlotID, 10))
	}
	for _, a := range u.VendorPath {
		add(a.Name, a.Value)
	}

	var query []string
	addq := func(name, val string) {
		if val != "" {
			query = append(query, name+"="+pctEncode(val, false))
		}
	}
	addq("pin-source", u.PINSource)
	addq("pin-value", u.PINValue)
	addq("module-name", u.ModuleName)
	addq("module-path", u.ModulePath)
	for _, a := range u.VendorQuery {
		addq(a.Name, a.Value)
	}
	s := pkcs11Scheme + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// Redacted returns String with the pin-value replaced by "REDACTED", for
// error messages and logs.
func (u *PKCS11URI) Redacted() string {
	if u.PINValue == "" {
		return u.String()
	}
	c := *u
	c.PINValue = "REDACTED"
	return c.String()
}

// pctEncode encodes every byte outside the unreserved set (and, with all,
// every byte) as %XX.
func pctEncode(s string, all bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !all && strings.IndexByte(pk11Unreserved, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// GoString is like Redacted, so that %#v never prints a PIN.
func (u *PKCS11URI) GoString() string {
	return fmt.Sprintf("keyref.PKCS11URI(%q)", u.Redacted())
}
