package tsa

import (
	"errors"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>: requests from Request.Marshal
// and from `openssl ts -query`, granted and rejected responses from Server,
// and tokens.

// FuzzParseRequest checks that ParseRequest never panics and that whatever
// it accepts re-encodes to a request that parses to the same value.
func FuzzParseRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		req, err := ParseRequest(der)
		if err != nil {
			return
		}
		again, err := req.Marshal()
		if err != nil {
			t.Fatalf("parsed request does not marshal: %v", err)
		}
		back, err := ParseRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v", err)
		}
		if !sameRequest(*back, *req) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", *req, *back)
		}
	})
}

// FuzzParseResponse checks that ParseResponse never panics, that refusals
// are reported as *StatusError or ErrMalformed-style errors, and that a
// granted token re-parses to the same TSTInfo.
func FuzzParseResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		tok, err := ParseResponse(der)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) && (se.Status == StatusGranted || se.Status == StatusGrantedWithMods) {
				t.Fatalf("granted status reported as failure: %v", se)
			}
			return
		}
		checkTokenRoundTrip(t, tok)
	})
}

// FuzzParseToken checks that ParseToken and Token.Verify never panic and
// that an accepted token re-encodes to one with the same TSTInfo.
func FuzzParseToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		tok, err := ParseToken(der)
		if err != nil {
			return
		}
		checkTokenRoundTrip(t, tok)
	})
}

func checkTokenRoundTrip(t *testing.T, tok *Token) {
	t.Helper()
	tok.Verify(VerifyOptions{}) // must not panic; the outcome is input-dependent
	der, err := tok.SignedData.Marshal()
	if err != nil {
		t.Fatalf("parsed token does not marshal: %v", err)
	}
	back, err := ParseToken(der)
	if err != nil {
		t.Fatalf("re-encoded token does not parse: %v", err)
	}
	if !sameInfo(back.Info, tok.Info) {
		t.Fatalf("round trip changed TSTInfo:\n%+v\n%+v", tok.Info, back.Info)
	}
	content, err := marshalInfo(&tok.Info)
	if err != nil {
		t.Fatalf("parsed TSTInfo does not marshal: %v", err)
	}
	info, err := parseInfo(content)
	if err != nil {
		t.Fatalf("re-encoded TSTInfo does not parse: %v", err)
	}
	if !sameInfo(*info, tok.Info) {
		t.Fatalf("TSTInfo round trip changed it:\n%+v\n%+v", tok.Info, *info)
	}
}
