package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/signet-pki/signet/cms"
)

func TestTokenVerify(t *testing.T) {
	good := newPKI(t)
	other := newPKI(t)
	tests := []struct {
		name   string
		leaf   []leafOption
		opts   func(p *testPKI) VerifyOptions
		is     error
		anyErr bool
		chains bool
	}{
		{name: "no roots", opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }},
		{name: "roots", opts: func(p *testPKI) VerifyOptions { return VerifyOptions{Roots: p.rootPool} }, chains: true},
		{name: "roots at later time", opts: func(p *testPKI) VerifyOptions {
			return VerifyOptions{Roots: p.rootPool, CurrentTime: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, chains: true},
		{name: "roots after expiry", opts: func(p *testPKI) VerifyOptions {
			return VerifyOptions{Roots: p.rootPool, CurrentTime: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, anyErr: true},
		{name: "untrusted root", opts: func(*testPKI) VerifyOptions { return VerifyOptions{Roots: other.rootPool} }, anyErr: true},
		{name: "non-critical EKU", leaf: []leafOption{nonCriticalEKU}, opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }, is: ErrEKU},
		{name: "extra EKU", leaf: []leafOption{extraEKU}, opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }, is: ErrEKU},
		{name: "no EKU", leaf: []leafOption{noEKU}, opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }, is: ErrEKU},
		{name: "genTime after notAfter", leaf: []leafOption{validity(pkiNotBefore, testNow.Add(-time.Hour))},
			opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }, is: ErrGenTime},
		{name: "genTime before notBefore", leaf: []leafOption{validity(testNow.Add(time.Hour), pkiNotAfter)},
			opts: func(*testPKI) VerifyOptions { return VerifyOptions{} }, is: ErrGenTime},
	}
	req := mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "v"), CertReq: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			if tc.leaf != nil {
				p = newPKI(t, tc.leaf...)
			}
			tok := mustToken(t, p.server(), req)
			cert, chains, err := tok.Verify(tc.opts(p))
			switch {
			case tc.is != nil:
				if !errors.Is(err, tc.is) {
					t.Fatalf("Verify error %v, want %v", err, tc.is)
				}
			case tc.anyErr:
				if err == nil {
					t.Fatal("Verify succeeded")
				}
			case err != nil:
				t.Fatal(err)
			default:
				if !cert.Equal(p.leaf) {
					t.Errorf("certificate %v", cert.Subject)
				}
				if (chains != nil) != tc.chains {
					t.Errorf("chains %v, want present=%v", chains, tc.chains)
				}
			}
		})
	}
}

func TestTokenTampered(t *testing.T) {
	p := newPKI(t)
	req := mustRequest(t, &Request{Hash: crypto.SHA256, Digest: digestOf(crypto.SHA256, "t"), Nonce: big.NewInt(5), CertReq: true})
	tok := mustToken(t, p.server(), req)
	if _, _, err := tok.Verify(VerifyOptions{Roots: p.rootPool}); err != nil {
		t.Fatalf("untouched token: %v", err)
	}
	// Re-encode the TSTInfo with a later genTime: the message digest no
	// longer matches.
	info := tok.Info
	info.Time = info.Time.Add(time.Hour)
	content, err := marshalInfo(&info)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(tok.Raw)
	if err != nil {
		t.Fatal(err)
	}
	sd.Content = content
	der, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := ParseToken(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := forged.Verify(VerifyOptions{}); !errors.Is(err, cms.ErrDigestMismatch) {
		t.Errorf("forged genTime: Verify error %v, want cms.ErrDigestMismatch", err)
	}

	// Flip each byte of the hashedMessage in the raw token.
	at := bytes.Index(tok.Raw, tok.Info.Digest)
	if at < 0 {
		t.Fatal("digest not found in token")
	}
	for i := range tok.Info.Digest {
		raw := bytes.Clone(tok.Raw)
		raw[at+i] ^= 0x01
		flipped, err := ParseToken(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := flipped.Verify(VerifyOptions{}); err == nil {
			t.Fatalf("flipped byte %d: Verify succeeded", i)
		}
	}
}

func TestParseTokenContentType(t *testing.T) {
	p := newPKI(t)
	sd, err := cms.Sign(p.leafKey, nil, cms.SignOptions{
		Hash:         crypto.SHA256,
		Certificates: []*x509.Certificate{p.leaf},
		Content:      []byte("not a TSTInfo"),
	})
	if err != nil {
		t.Fatal(err)
	}
	der, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseToken(der); !errors.Is(err, ErrMalformed) {
		t.Errorf("id-data token: %v, want ErrMalformed", err)
	}
	sd, err = cms.Sign(p.leafKey, nil, cms.SignOptions{
		Hash:         crypto.SHA256,
		Certificates: []*x509.Certificate{p.leaf},
		ContentType:  cms.OIDTSTInfo,
		Content:      []byte{0x30, 0x00},
	})
	if err != nil {
		t.Fatal(err)
	}
	if der, err = sd.Marshal(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseToken(der); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty TSTInfo: %v, want ErrMalformed", err)
	}
}

func TestCheckImprint(t *testing.T) {
	d := digestOf(crypto.SHA256, "imprint")
	tok := &Token{Info: Info{Hash: crypto.SHA256, Digest: d}}
	other := bytes.Clone(d)
	other[31] ^= 1
	tests := []struct {
		name   string
		h      crypto.Hash
		digest []byte
		ok     bool
	}{
		{"match", crypto.SHA256, d, true},
		{"other digest", crypto.SHA256, other, false},
		{"other hash", crypto.SHA384, d, false},
		{"truncated", crypto.SHA256, d[:31], false},
		{"nil", crypto.SHA256, nil, false},
	}
	for _, tc := range tests {
		err := tok.CheckImprint(tc.h, tc.digest)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrImprint)) {
			t.Errorf("%s: CheckImprint = %v", tc.name, err)
		}
	}
}
