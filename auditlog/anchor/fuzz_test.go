package anchor

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseCosignature checks that every accepted cosignature line has one
// encoding: String reproduces the input.
func FuzzParseCosignature(f *testing.F) {
	f.Add("— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCosignature(line)
		if err != nil {
			return
		}
		if got := c.String(); got != line {
			t.Fatalf("String() = %q, input %q", got, line)
		}
		if _, err := ParseCosignature(c.String()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzParseCosignerKey checks that every accepted vkey re-encodes to itself.
func FuzzParseCosignerKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, vkey string) {
		k, err := ParseCosignerKey(vkey)
		if err != nil {
			return
		}
		if got := k.String(); got != vkey {
			t.Fatalf("String() = %q, input %q", got, vkey)
		}
	})
}

// FuzzWitnessResponse feeds arbitrary bodies to the parsers of witness
// answers (200: signature lines; 409: a size). Accepted input must
// re-encode to itself.
func FuzzWitnessResponse(f *testing.F) {
	f.Add([]byte("— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"))
	f.Add([]byte("20852014\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if lines, err := parseSignatureLines(body); err == nil {
			var b strings.Builder
			for _, l := range lines {
				if !validKeyName(l.Name) || !strings.HasPrefix(l.Text, sigLinePrefix+l.Name+" ") {
					t.Fatalf("line %q has name %q", l.Text, l.Name)
				}
				b.WriteString(l.Text + "\n")
			}
			if b.String() != string(body) {
				t.Fatalf("lines %q do not rebuild %q", b.String(), body)
			}
		}
		if n, err := parseSizeBody(body); err == nil {
			if got := strconv.FormatInt(n, 10) + "\n"; got != string(body) {
				t.Fatalf("size %d from %q", n, body)
			}
		}
	})
}

// FuzzCheckpointBody checks that the body split off a note is a prefix of
// it, followed by the blank line, and re-encodes to itself.
func FuzzCheckpointBody(f *testing.F) {
	f.Add([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"))
	f.Fuzz(func(t *testing.T, note []byte) {
		body, th, err := checkpointBody(note)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(note, append(bytes.Clone(body), '\n')) {
			t.Fatalf("body %q is not followed by a blank line in %q", body, note)
		}
		if got := th.Marshal(); !bytes.Equal(got, body) {
			t.Fatalf("Marshal() = %q, body %q", got, body)
		}
	})
}
