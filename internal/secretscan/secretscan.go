// Package secretscan lets tests check that a secret is nowhere at rest: in
// no file under a directory, in any of the encodings a store might use.
package secretscan

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Forms returns the byte strings that would reveal secret: the secret
// itself, its standard base64 and hex encodings, and when it is (or ends in,
// after an "xx_" prefix) base64url, the bytes it encodes in raw, hex and
// standard base64 form.
func Forms(secret string) [][]byte {
	forms := [][]byte{
		[]byte(secret),
		[]byte(base64.StdEncoding.EncodeToString([]byte(secret))),
		[]byte(base64.RawStdEncoding.EncodeToString([]byte(secret))),
		[]byte(hex.EncodeToString([]byte(secret))),
	}
	payload := secret
	if i := strings.IndexByte(secret, '_'); i > 0 && i <= 3 {
		payload = secret[i+1:]
	}
	if raw, err := base64.RawURLEncoding.DecodeString(payload); err == nil && len(raw) >= 16 {
		forms = append(forms, raw,
			[]byte(hex.EncodeToString(raw)), []byte(strings.ToUpper(hex.EncodeToString(raw))),
			[]byte(base64.StdEncoding.EncodeToString(raw)))
	}
	return forms
}

// Check reads every regular file under dir (databases with their -wal and
// -shm files, blobs, keys, logs) and reports through t each file that holds
// any form of any of secrets. It returns the number of files read.
func Check(t testing.TB, dir string, secrets ...string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil // a -wal or -shm file removed meanwhile
		}
		if err != nil {
			return err
		}
		n++
		for i, s := range secrets {
			for _, f := range Forms(s) {
				if bytes.Contains(b, f) {
					t.Errorf("%s holds secret %d (as %.12q…)", path, i, f)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
