package evidence

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"sort"
	"strings"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/pades"
)

// validation is the bundle's validation/ directory being filled: each
// item once, named by the SHA-256 of its DER.
type validation struct {
	byPath map[string][]byte
}

func newValidation() *validation { return &validation{byPath: map[string][]byte{}} }

// Counts of each kind, for the README.
func (v *validation) count(dir string) int {
	n := 0
	for p := range v.byPath {
		if strings.HasPrefix(p, evidence.PathValidation+dir) {
			n++
		}
	}
	return n
}

func (v *validation) put(dir, ext string, der []byte) {
	s := sha256.Sum256(der)
	v.byPath[evidence.PathValidation+dir+hex.EncodeToString(s[:])+ext] = der
}

func (v *validation) cert(c *x509.Certificate) {
	s := sha256.Sum256(c.Raw)
	v.byPath[evidence.PathValidation+"certs/"+hex.EncodeToString(s[:])+".pem"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func (v *validation) merge(d *pades.Validation) {
	for _, c := range d.Certs {
		v.cert(c)
	}
	for _, o := range d.OCSPs {
		v.put("ocsp/", ".der", o)
	}
	for _, c := range d.CRLs {
		v.put("crl/", ".crl", c)
	}
	for _, t := range d.Timestamps {
		v.put("timestamps/", ".tst", t)
	}
}

// add merges the validation data of a PDF held in memory.
func (v *validation) add(doc []byte) error {
	d, err := pades.ValidationData(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return err
	}
	v.merge(d)
	return nil
}

// files are the directory's files, by path.
func (v *validation) files() []evidence.File {
	paths := make([]string, 0, len(v.byPath))
	for p := range v.byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]evidence.File, 0, len(paths))
	for _, p := range paths {
		out = append(out, evidence.File{Path: p, Data: v.byPath[p]})
	}
	return out
}
