package oidc

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size int
		want error
	}{{0, nil}, {maxResponse, nil}, {maxResponse + 1, errTooLarge}, {3 * maxResponse, errTooLarge}} {
		b := &limitedBody{r: io.NopCloser(bytes.NewReader(make([]byte, tc.size))), left: maxResponse}
		got, err := io.ReadAll(b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%d bytes: %v, want %v", tc.size, err, tc.want)
		}
		if len(got) > maxResponse {
			t.Errorf("%d bytes: read %d", tc.size, len(got))
		}
	}
}
