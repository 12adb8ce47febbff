package keyref

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func u64(n uint64) *uint64 { return &n }

func TestParsePKCS11URI(t *testing.T) {
	tests := []struct {
		in   string
		want *PKCS11URI
	}{
		{"pkcs11:", &PKCS11URI{}},
		{"pkcs11:?", &PKCS11URI{}},
		// RFC 7512 §3 examples.
		{"pkcs11:object=my-pubkey;type=public", &PKCS11URI{Object: "my-pubkey", Type: "public"}},
		{"pkcs11:object=my-key;type=private?pin-source=file:/etc/token", &PKCS11URI{Object: "my-key", Type: "private", PINSource: "file:/etc/token"}},
		{"pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
			&PKCS11URI{Token: "The Software PKCS#11 Softtoken", Manufacturer: "Snake Oil, Inc.", Model: "1.0", Object: "my-certificate", Type: "cert", ID: []byte{0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91}, PINSource: "file:/etc/token_pin"}},
		{"pkcs11:object=my-sign-key;type=private?module-name=mypkcs11", &PKCS11URI{Object: "my-sign-key", Type: "private", ModuleName: "mypkcs11"}},
		{"pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1", &PKCS11URI{Object: "my-sign-key", Type: "private", ModulePath: "/mnt/libmypkcs11.so.1"}},
		{"pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin", &PKCS11URI{Token: "Software PKCS#11 softtoken", Manufacturer: "Snake Oil, Inc.", PINValue: "the-pin"}},
		{"pkcs11:slot-description=Sun%20Metaslot", &PKCS11URI{SlotDescription: "Sun Metaslot"}},
		{"pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23", &PKCS11URI{LibraryManufacturer: "Snake Oil, Inc.", LibraryDescription: "Soft Token Library", LibraryVersion: "1.23"}},
		{"pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ef%fe;object=a%20b", &PKCS11URI{Token: "My token% created by Joe", LibraryVersion: "3", ID: []byte{1, 2, 3, 0xba, 0xdd, 0xef, 0xfe}, Object: "a b"}},
		{"pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert", &PKCS11URI{Token: "A name with a substring %;", Object: "my-certificate", Type: "cert"}},
		{"pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert", &PKCS11URI{Token: "Name with a small A with acute: á", Object: "my-certificate", Type: "cert"}},
		{"pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b", nil},
		{"pkcs11:token=my-token;object=my-certificate;type=cert;x-vendor-aaa=value-a?pin-source=file:/etc/token_pin&x-vendor-bbb=value-b",
			&PKCS11URI{Token: "my-token", Object: "my-certificate", Type: "cert", VendorPath: []PKCS11Attr{{"x-vendor-aaa", "value-a"}}, PINSource: "file:/etc/token_pin", VendorQuery: []PKCS11Attr{{"x-vendor-bbb", "value-b"}}}},
		{"pkcs11:slot-manufacturer=Acme;slot-id=18446744073709551615", &PKCS11URI{SlotManufacturer: "Acme", SlotID: u64(18446744073709551615)}},
		{"pkcs11:slot-id=0", &PKCS11URI{SlotID: u64(0)}},
		{"PKCS11:serial=0123&4567", &PKCS11URI{Serial: "0123&4567"}},
		{"pkcs11:?pin-source=|/usr/bin/getpin?x&x-a=1&x-a=2", &PKCS11URI{PINSource: "|/usr/bin/getpin?x", VendorQuery: []PKCS11Attr{{"x-a", "1"}, {"x-a", "2"}}}},
		// Errors.
		{"pkcs12:token=x", nil},
		{"token=x", nil},
		{"pkcs11:token", nil},
		{"pkcs11:=x", nil},
		{"pkcs11:token=a;token=b", nil},
		{"pkcs11:token=x;", nil},
		{"pkcs11:;", nil},
		{"pkcs11:token=a/b", nil},
		{"pkcs11:token=a b", nil},
		{"pkcs11:token=%zz", nil},
		{"pkcs11:token=%4", nil},
		{"pkcs11:type=key", nil},
		{"pkcs11:slot-id=1a", nil},
		{"pkcs11:slot-id=-1", nil},
		{"pkcs11:slot-id=18446744073709551616", nil},
		{"pkcs11:library-version=1.", nil},
		{"pkcs11:library-version=v1", nil},
		{"pkcs11:x-=1", nil},
		{"pkcs11:x-a.b=1", nil},
		{"pkcs11:?pin-value=1&pin-source=file:/x", nil},
		{"pkcs11:?pin-value=1&pin-value=2", nil},
		{"pkcs11:?token=x", nil},
		{"pkcs11:?pin-value=a;b", nil},
		{"pkcs11:?pin-value=1&&module-name=x", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePKCS11URI(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("parsed as %#v, want an error", got)
				}
				if !errors.Is(err, ErrInvalidURI) {
					t.Errorf("error %v does not wrap ErrInvalidURI", err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("multi-line error %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, *tc.want)
			}
			again, err := ParsePKCS11URI(got.String())
			if err != nil {
				t.Fatalf("re-parse of %q: %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("round trip through %q changed the URI", got.String())
			}
		})
	}
}

func TestPKCS11URIString(t *testing.T) {
	tests := []struct {
		u    PKCS11URI
		want string
	}{
		{PKCS11URI{}, "pkcs11:"},
		{PKCS11URI{Object: "my key", Token: "t;1", Type: "private", ID: []byte("ab")}, "pkcs11:token=t%3B1;object=my%20key;type=private;id=%61%62"},
		{PKCS11URI{SlotID: u64(7), ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINValue: "1234"}, "pkcs11:slot-id=7?pin-value=1234&module-path=%2Fusr%2Flib%2Fsofthsm%2Flibsofthsm2.so"},
		{PKCS11URI{VendorPath: []PKCS11Attr{{"x-a", "b"}}, VendorQuery: []PKCS11Attr{{"x-c", "d&e"}}}, "pkcs11:x-a=b?x-c=d%26e"},
	}
	for _, tc := range tests {
		if got := tc.u.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestPKCS11URIRedacted(t *testing.T) {
	u, err := ParsePKCS11URI("pkcs11:token=t?pin-value=9876")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{u.Redacted(), u.GoString()} {
		if strings.Contains(s, "9876") || !strings.Contains(s, "REDACTED") {
			t.Errorf("%q leaks or lacks the redaction", s)
		}
	}
	if u.PINValue != "9876" {
		t.Error("Redacted modified the URI")
	}
	if !strings.Contains(u.String(), "9876") {
		t.Error("String lost the PIN")
	}
}

// FuzzParsePKCS11URI checks that parsing never panics and that every URI
// that parses survives String and a second parse unchanged, with String
// stable after one round.
func FuzzParsePKCS11URI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:",
		"pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
		"pkcs11:slot-id=3;x-v=1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234&x-q=a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParsePKCS11URI(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("error %v does not wrap ErrInvalidURI", err)
			}
			return
		}
		out := u.String()
		u2, err := ParsePKCS11URI(out)
		if err != nil {
			t.Fatalf("String() = %q does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(u, u2) {
			t.Fatalf("round trip changed %q: %+v != %+v", s, *u, *u2)
		}
		if out2 := u2.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}
