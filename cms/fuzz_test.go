package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata/fuzz/FuzzParse seed corpus")

const corpusDir = "testdata/fuzz/FuzzParse"

// FuzzParse checks that Parse never panics and that whatever it accepts
// re-encodes: Marshal succeeds, Parse(Marshal(x)) succeeds with the same
// signed attribute bytes, signature and certificates, and a second Marshal
// is identical to the first.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		sd, err := Parse(der)
		if err != nil {
			return
		}
		// Exercise the accessors: they must not panic on odd input.
		sd.Verify(nil)
		sd.SignerCertificate()
		sd.MessageDigest()
		sd.TimestampToken()

		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("Marshal of parsed value: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(x)): %v", err)
		}
		if !bytes.Equal(again.signedAttrsDER, sd.signedAttrsDER) {
			t.Fatalf("signed attributes changed")
		}
		if !bytes.Equal(again.Signature(), sd.Signature()) {
			t.Fatalf("signature changed")
		}
		if len(again.Certificates) != len(sd.Certificates) {
			t.Fatalf("certificate count %d, want %d", len(again.Certificates), len(sd.Certificates))
		}
		for i := range sd.Certificates {
			if !again.Certificates[i].Equal(sd.Certificates[i]) {
				t.Fatalf("certificate %d changed", i)
			}
		}
		if !again.ContentType.Equal(sd.ContentType) || !bytes.Equal(again.Content, sd.Content) || (again.Content == nil) != (sd.Content == nil) {
			t.Fatalf("content changed")
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("second Marshal differs (%v)", err)
		}
	})
}

// corpusSeeds builds the seed corpus: valid SignedData from
// Sign, a timestamped one, BER, zero-padded and truncated variants. Names
// starting with "valid-" must parse and verify.
func corpusSeeds(t *testing.T) map[string][]byte {
	seeds := map[string][]byte{}
	ca := rootCA(t)
	for i, c := range []struct {
		key  string
		hash crypto.Hash
		pss  bool
	}{{"p256", crypto.SHA256, false}, {"p384", crypto.SHA384, false}, {"rsa2048", crypto.SHA512, true}, {"rsa2048", crypto.SHA256, false}} {
		key := testKey(t, c.key)
		cert := ca.issue(t, key.Public(), int64(2000+i), "Corpus "+c.key)
		sd, err := Sign(key, nil, SignOptions{
			Hash: c.hash, PSS: c.pss, Certificates: []*x509.Certificate{cert, ca.cert},
			ContentType: OIDTSTInfo, Content: []byte(fmt.Sprintf("seed content %d", i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		der, err := sd.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%v", c.key, c.hash)
		if c.pss {
			name += "-pss"
		}
		seeds["valid-"+name] = der
		if i == 0 {
			if err := sd.SetTimestampToken(der); err != nil {
				t.Fatal(err)
			}
			withToken, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			seeds["valid-"+name+"-timestamped"] = withToken
			seeds["valid-"+name+"-padded"] = append(bytes.Clone(der), make([]byte, 64)...)
			seeds["valid-"+name+"-ber"] = toBER(t, withToken)
			for _, cut := range []int{1, 2, 40, len(der) / 2, len(der) - 1} {
				seeds[fmt.Sprintf("truncated-%d", cut)] = der[:cut]
			}
		}
	}
	return seeds
}

// TestFuzzCorpus checks the FuzzParse seed corpus: every file is in Go's
// corpus format, "valid-" seeds parse and verify, "truncated-" seeds are
// rejected. With -update it regenerates the corpus first.
func TestFuzzCorpus(t *testing.T) {
	if *update {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, der := range corpusSeeds(t) {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(der)) + ")\n"
			if err := os.WriteFile(filepath.Join(corpusDir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatalf("seed corpus missing (run go test -run TestFuzzCorpus -update): %v", err)
	}
	var valid, truncated int
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		der, err := readCorpusFile(body)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		sd, err := Parse(der)
		switch {
		case strings.HasPrefix(e.Name(), "valid-"):
			valid++
			if err != nil {
				t.Errorf("%s: Parse: %v", e.Name(), err)
				continue
			}
			if _, err := sd.Verify(nil); err != nil {
				t.Errorf("%s: Verify: %v", e.Name(), err)
			}
		case strings.HasPrefix(e.Name(), "truncated-"):
			truncated++
			if err == nil {
				t.Errorf("%s: Parse accepted truncated input", e.Name())
			}
		}
	}
	if valid < 3 || truncated < 3 {
		t.Errorf("corpus has %d valid and %d truncated seeds, want at least 3 of each", valid, truncated)
	}
}

// readCorpusFile decodes a one-value []byte file in Go's fuzz corpus format.
func readCorpusFile(body []byte) ([]byte, error) {
	s := string(body)
	const header = "go test fuzz v1\n"
	if !strings.HasPrefix(s, header) {
		return nil, fmt.Errorf("not a Go fuzz corpus file")
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, header))
	if !strings.HasPrefix(s, "[]byte(") || !strings.HasSuffix(s, ")") {
		return nil, fmt.Errorf("not a []byte value")
	}
	v, err := strconv.Unquote(s[len("[]byte(") : len(s)-1])
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}
