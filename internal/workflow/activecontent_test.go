package workflow

import (
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
)

// TestLinkSchemes checks which link addresses are accepted.
func TestLinkSchemes(t *testing.T) {
	tests := []struct {
		uri     string
		refused string // part of the reason, "" if accepted
	}{
		{"https://example.com/terms", ""},
		{"HTTP://example.com", ""},
		{"mailto:legal@example.com", ""},
		{"tel:+4930123456", ""},
		{"terms.html#section:2", ""},
		{"/relative/path", ""},
		{"javascript:app.alert(1)", "javascript:"},
		{" \tJaVa\nScRiPt:x", "javascript:"},
		{"vbscript:msgbox", "vbscript:"},
		{"file:///etc/passwd", "file:"},
		{"ms-msdt:/id PCWDiagnostic", "ms-msdt:"},
		{"data:text/html,<script>", "data:"},
	}
	for _, tt := range tests {
		got := uriScheme(tt.uri)
		if (got == "") != (tt.refused == "") || !strings.Contains(got, tt.refused) {
			t.Errorf("uriScheme(%q) = %q, want refusal containing %q", tt.uri, got, tt.refused)
		}
	}
}

// TestEmbeddedNames checks file names and text-string decoding.
func TestEmbeddedNames(t *testing.T) {
	utf16 := pdf.String("\xfe\xff\x00s\x00e\x00t\x00u\x00p\x00.\x00E\x00X\x00E")
	for name, refused := range map[string]bool{
		textString(utf16): true, "C:\\tools\\run.BAT": true, "invoice.pdf": true, "factur-x.xml": false,
		"photo.jpg": false, "no-extension": false, "archive.tar.gz": false,
	} {
		if got := executableName(name) != ""; got != refused {
			t.Errorf("executableName(%q) refused=%v, want %v", name, got, refused)
		}
	}
}
