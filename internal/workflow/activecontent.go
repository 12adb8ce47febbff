package workflow

import (
	"bytes"
	"errors"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/signet-pki/signet/internal/pdf"
)

// A signature must cover what the signer sees. The upload check therefore
// refuses what can change a document's appearance or behaviour after it
// is signed, or act outside it, in any object of the file: the scan has no
// depth limit and follows no references, because [pdf.Reader.Objects]
// hands it every object, reachable or not.

// refusedActions are the action types (/S, ISO 32000-1 §12.6.4) that are
// refused, with the reason shown. Navigation (GoTo, URI, Named, Thread),
// media without scripts, Hide, SetOCGState and ResetForm act only on what
// the signed file already holds, and are accepted.
var refusedActions = sync.OnceValue(func() map[pdf.Name]string {
	return map[pdf.Name]string{
		"JavaScript":       "a JavaScript action",
		"Launch":           "a launch action (/Launch runs a program or opens a file)",
		"ImportData":       "an import-data action (/ImportData fills the form from an outside file)",
		"SubmitForm":       "a submit-form action (/SubmitForm sends the form's data to an outside address)",
		"GoToR":            "a remote go-to action (/GoToR opens another file)",
		"GoToE":            "an embedded go-to action (/GoToE opens an embedded document)",
		"RichMediaExecute": "a rich-media execute action (/RichMediaExecute runs a script in embedded media)",
	}
})

// refusedKeys are dictionary keys whose mere presence is refused, in the
// order they are tested.
var refusedKeys = []struct {
	key pdf.Name
	why string
}{
	{"JS", "JavaScript (/JS)"},
	{"JavaScript", "a document JavaScript name tree (/Names /JavaScript)"},
	{"AA", "additional actions (/AA), which run on events rather than on a click"},
	{"XFA", "an XFA form (/XFA): its appearance is computed from XML templates and scripts, not from the signed page content"},
	{"OnInstantiate", "3D JavaScript (/OnInstantiate)"},
}

// executableTypes are the MIME types (/Subtype of an embedded file stream)
// that mark an executable, a script or a document Signet would have to
// check in turn.
var executableTypes = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"application/x-msdownload": true, "application/x-msdos-program": true, "application/x-dosexec": true,
		"application/vnd.microsoft.portable-executable": true, "application/x-ms-installer": true, "application/x-msi": true,
		"application/x-executable": true, "application/x-elf": true, "application/x-sharedlib": true,
		"application/x-mach-binary": true, "application/x-apple-diskimage": true,
		"application/x-sh": true, "application/x-shellscript": true, "application/x-bat": true, "application/x-msbatch": true,
		"application/javascript": true, "application/x-javascript": true, "text/javascript": true,
		"application/java-archive": true, "application/x-java-archive": true, "application/vnd.android.package-archive": true,
		"application/hta": true, "application/x-ms-shortcut": true, "application/pdf": true,
	}
})

// executableExts are file name extensions that mark the same.
var executableExts = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"exe": true, "dll": true, "com": true, "scr": true, "pif": true, "cpl": true, "sys": true, "ocx": true,
		"msi": true, "msp": true, "mst": true, "msc": true, "bat": true, "cmd": true, "ps1": true, "psm1": true,
		"vbs": true, "vbe": true, "js": true, "jse": true, "mjs": true, "wsf": true, "wsh": true, "wsc": true,
		"hta": true, "jar": true, "class": true, "lnk": true, "url": true, "reg": true, "inf": true,
		"app": true, "command": true, "dmg": true, "pkg": true, "sh": true, "bash": true, "csh": true, "ksh": true,
		"zsh": true, "run": true, "bin": true, "elf": true, "so": true, "dylib": true, "apk": true, "deb": true,
		"rpm": true, "appimage": true, "py": true, "pyw": true, "pl": true, "rb": true, "php": true, "scpt": true,
		"pdf": true,
	}
})

// magics are the first bytes of executables, scripts and PDF documents.
var magics = []struct {
	prefix []byte
	what   string
}{
	{[]byte("MZ"), "a Windows executable"},
	{[]byte("\x7fELF"), "an ELF executable"},
	{[]byte{0xfe, 0xed, 0xfa, 0xce}, "a Mach-O executable"},
	{[]byte{0xfe, 0xed, 0xfa, 0xcf}, "a Mach-O executable"},
	{[]byte{0xce, 0xfa, 0xed, 0xfe}, "a Mach-O executable"},
	{[]byte{0xcf, 0xfa, 0xed, 0xfe}, "a Mach-O executable"},
	{[]byte{0xca, 0xfe, 0xba, 0xbe}, "a Mach-O universal binary or Java class"},
	{[]byte("#!"), "a script"},
}

// sniffLen is how much of an embedded file is decoded to look at its
// first bytes; a PDF header may sit anywhere in the first 1024 bytes.
const sniffLen = 1024

// scanner looks for active content in PDF objects.
type scanner struct {
	r *pdf.Reader
}

// object returns why o, or any object nested directly in it, is refused,
// or "". It walks with an explicit stack, to any depth, and does not
// follow references (except from a file specification to its embedded
// files): every indirect object is scanned on its own. The error is a
// read failure (a spent budget included).
func (s *scanner) object(o pdf.Object) (string, error) {
	stack := []pdf.Object{o}
	for len(stack) > 0 {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := o.(type) {
		case *pdf.Stream:
			if v.Dict.Name("Type") == "EmbeddedFile" {
				if why, err := s.embeddedFile(v, ""); err != nil || why != "" {
					return why, err
				}
			}
			stack = append(stack, v.Dict)
		case pdf.Dict:
			if why, err := s.dict(v); err != nil || why != "" {
				return why, err
			}
			// In reverse key order, so that values pop in key order and
			// the first reason found does not depend on map order.
			keys := slices.Sorted(maps.Keys(v))
			for i := len(keys) - 1; i >= 0; i-- {
				stack = append(stack, v[keys[i]])
			}
		case pdf.Array:
			for i := len(v) - 1; i >= 0; i-- {
				stack = append(stack, v[i])
			}
		}
	}
	return "", nil
}

// value returns d[key], resolved if it is an indirect reference: viewers
// resolve every value, so /S 12 0 R naming /Launch is a launch action.
func (s *scanner) value(d pdf.Dict, key pdf.Name) (pdf.Object, error) {
	return s.r.Resolve(d[key])
}

// name returns d[key] as a name, resolved, or "".
func (s *scanner) name(d pdf.Dict, key pdf.Name) (pdf.Name, error) {
	o, err := s.value(d, key)
	n, _ := o.(pdf.Name)
	return n, err
}

// dict checks one dictionary, not its values.
func (s *scanner) dict(d pdf.Dict) (string, error) {
	action, err := s.name(d, "S")
	if err != nil {
		return "", err
	}
	if why, ok := refusedActions()[action]; ok {
		return why, nil
	}
	for _, k := range refusedKeys {
		if _, ok := d[k.key]; ok {
			return k.why, nil
		}
	}
	// Only what is there is resolved: this runs for every dictionary.
	if action == "URI" {
		uri, err := s.value(d, "URI")
		if err != nil {
			return "", err
		}
		if u, ok := uri.(pdf.String); ok {
			if why := uriScheme(string(u)); why != "" {
				return why, nil
			}
		}
	}
	// The catalog's URI dictionary (§12.6.4.7): relative links resolve
	// against /Base, so its scheme is every relative link's.
	if _, ok := d["Base"]; ok {
		base, err := s.value(d, "Base")
		if err != nil {
			return "", err
		}
		if b, ok := base.(pdf.String); ok {
			if why := uriScheme(string(b)); why != "" {
				return why + " as the base of relative links (/URI /Base)", nil
			}
		}
	}
	subtype, err := s.name(d, "Subtype")
	if err != nil {
		return "", err
	}
	if subtype == "RichMedia" {
		return "a rich-media annotation (/RichMedia: Flash or 3D content that runs code)", nil
	}
	if _, ok := d["EF"]; ok {
		return s.fileSpec(d)
	}
	return "", nil
}

// fileSpec checks a file specification with embedded files (§7.11.3,
// §7.11.4): by the names it gives them and by each embedded file stream.
func (s *scanner) fileSpec(fs pdf.Dict) (string, error) {
	var name string
	for _, k := range []pdf.Name{"UF", "F", "Unix", "Mac", "DOS"} {
		o, err := s.value(fs, k)
		if err != nil {
			return "", err
		}
		n, ok := o.(pdf.String)
		if !ok {
			continue
		}
		t := textString(n)
		if why := executableName(t); why != "" {
			return why, nil
		}
		if name == "" {
			name = t
		}
	}
	ef, err := s.r.Dict(fs["EF"])
	if err != nil {
		return "", err
	}
	for _, k := range []pdf.Name{"UF", "F", "Unix", "Mac", "DOS"} {
		o, err := s.r.Resolve(ef[k])
		if err != nil {
			return "", err
		}
		if st, ok := o.(*pdf.Stream); ok {
			if why, err := s.embeddedFile(st, name); err != nil || why != "" {
				return why, err
			}
		}
	}
	return "", nil
}

// embeddedFile checks an embedded file stream by its MIME type and its
// first bytes.
func (s *scanner) embeddedFile(st *pdf.Stream, name string) (string, error) {
	label := "an embedded file"
	if name != "" {
		label += " " + quoteName(name)
	}
	subtype, err := s.name(st.Dict, "Subtype")
	if err != nil {
		return "", err
	}
	if mt := strings.ToLower(string(subtype)); executableTypes()[mt] {
		return label + " of type " + mt + " (executables, scripts and PDF documents are not accepted as attachments)", nil
	}
	head, err := s.r.DecodePrefix(st, sniffLen)
	if errors.Is(err, pdf.ErrBudget) {
		return "", err
	}
	if err != nil {
		return label + " that cannot be decoded for inspection (" + err.Error() + ")", nil
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, m.prefix) {
			return label + " that is " + m.what + " (executables, scripts and PDF documents are not accepted as attachments)", nil
		}
	}
	if bytes.Contains(head, []byte("%PDF-")) {
		return label + " that is a PDF document (executables, scripts and PDF documents are not accepted as attachments)", nil
	}
	return "", nil
}

// linkSchemes are the URI schemes a link (/S /URI, §12.6.4.7) may use.
// Others run code in the viewer (javascript:, vbscript:), reach local
// files (file:) or start other programs (ms-msdt: and its kind).
var linkSchemes = sync.OnceValue(func() map[string]bool {
	return map[string]bool{"http": true, "https": true, "mailto": true, "tel": true}
})

// uriScheme returns why a link's address is refused, or "". An address
// without a scheme is relative and accepted. Whitespace and control
// characters are dropped first, as browsers drop them ("java\tscript:").
func uriScheme(u string) string {
	clean := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, u)
	i := strings.IndexByte(clean, ':')
	if i <= 0 {
		return ""
	}
	scheme := strings.ToLower(clean[:i])
	for j, c := range scheme {
		if !(c >= 'a' && c <= 'z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "" // not a scheme: a relative address with a colon later on
		}
	}
	if linkSchemes()[scheme] {
		return ""
	}
	if len(scheme) > 20 {
		scheme = scheme[:20] + "…"
	}
	return "a link to a " + scheme + ": address (links may use http, https, mailto and tel)"
}

// executableName returns why a file name is refused, or "".
func executableName(name string) string {
	// File specifications use / and \ (DOS) as separators.
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	ext := strings.ToLower(strings.TrimSpace(path.Ext(base)))
	if executableExts()[strings.TrimPrefix(ext, ".")] {
		return "an embedded file " + quoteName(base) + " (executables, scripts and PDF documents are not accepted as attachments)"
	}
	return ""
}

// textString decodes a PDF text string (§7.9.2.2): UTF-16BE with a byte
// order mark, UTF-8 with one, or else PDFDocEncoding, read here as
// Latin-1, which agrees with it on every letter a file extension uses.
func textString(s pdf.String) string {
	switch {
	case len(s) >= 2 && s[0] == 0xfe && s[1] == 0xff:
		u := make([]uint16, 0, len(s)/2)
		for i := 2; i+1 < len(s); i += 2 {
			u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
		}
		return string(utf16.Decode(u))
	case len(s) >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf:
		return string(s[3:])
	}
	r := make([]rune, len(s))
	for i, c := range s {
		r[i] = rune(c)
	}
	return string(r)
}

// quoteName quotes a file name for a problem detail, shortened.
func quoteName(n string) string {
	if len(n) > 80 {
		n = n[:80] + "…"
	}
	return `"` + strings.ToValidUTF8(n, "?") + `"`
}
