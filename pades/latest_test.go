package pades

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/tsa"
)

// TestLatestTimestampValidatedNow: the latest time-stamp of a B-LTA
// document is validated at the validation time (ETSI EN 319 102-1). The
// document is valid while its authority certificate lasts, INDETERMINATE
// with OUT_OF_BOUNDS_NO_POE and a renewal needed after, valid again once
// an archive time-stamp from a longer-lived authority is added, and
// INDETERMINATE with REVOKED_NO_POE once the latest authority is revoked.
func TestLatestTimestampValidatedNow(t *testing.T) {
	p := newLTVPKI(t)
	now := time.Now()
	archive12, archive12URL := p.newTSA(t, "Twelve-Year Archive TSA", now.AddDate(12, 0, 0))
	archive18, archive18URL := p.newTSA(t, "Eighteen-Year Archive TSA", now.AddDate(18, 0, 0))

	signed := func(t *testing.T) string {
		o := p.options(LevelBLTA)
		o.ArchiveTimestamper = &tsa.Client{URLs: []string{archive12URL}}
		return signToFile(t, corpusPath("classic.pdf"), o)
	}
	renewed := func(t *testing.T) string {
		out := signed(t)
		f, err := os.OpenFile(out, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		if _, err := Archive(context.Background(), f, st.Size(), LTVOptions{Fetcher: p.options(LevelBLTA).Fetcher,
			Timestamper: &tsa.Client{URLs: []string{archive18URL}}}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	revoked := func(t *testing.T) string {
		out := signed(t)
		p.mu.Lock()
		p.revoked[archive12.SerialNumber.String()] = time.Now().Add(time.Second)
		p.mu.Unlock()
		t.Cleanup(func() {
			p.mu.Lock()
			delete(p.revoked, archive12.SerialNumber.String())
			p.mu.Unlock()
		})
		// The archive service refreshes the validation data: the new
		// OCSP response says the latest authority is revoked.
		f, err := os.OpenFile(out, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		if _, err := AddValidationData(context.Background(), f, st.Size(), LTVOptions{Fetcher: p.options(LevelBLTA).Fetcher}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name       string
		doc        func(*testing.T) string
		at         time.Time
		n          int
		indication string
		sub        string
		field      string
		notAfter   time.Time
		needed     bool
	}{
		{"now", signed, now, 2, TotalPassed, "", "DocumentTimestamp1", archive12.NotAfter, false},
		{"in ten years", signed, now.AddDate(10, 0, 0), 2, TotalPassed, "", "DocumentTimestamp1", archive12.NotAfter, false},
		{"past the archive authority's expiry", signed, now.AddDate(12, 1, 0), 2, Indeterminate, OutOfBoundsNoPOE, "DocumentTimestamp1", archive12.NotAfter, true},
		{"before the time-stamp", signed, now.Add(-time.Hour), 2, Indeterminate, OutOfBoundsNoPOE, "DocumentTimestamp1", archive12.NotAfter, false},
		{"renewed, past the first authority's expiry", renewed, now.AddDate(12, 1, 0), 3, TotalPassed, "", "DocumentTimestamp2", archive18.NotAfter, false},
		{"renewed, past the second authority's expiry", renewed, now.AddDate(18, 1, 0), 3, Indeterminate, OutOfBoundsNoPOE, "DocumentTimestamp2", archive18.NotAfter, true},
		{"latest authority revoked", revoked, now.Add(time.Hour), 2, Indeterminate, RevokedNoPOE, "DocumentTimestamp1", time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyAt(t, c.doc(t), p.roots, c.at)
			if len(rep.Signatures) != c.n {
				t.Fatalf("%d signatures, want %d", len(rep.Signatures), c.n)
			}
			for _, s := range rep.Signatures {
				if s.Indication != c.indication || s.SubIndication != c.sub {
					t.Errorf("%s: %s/%s (%s), want %s/%s", s.Field, s.Indication, s.SubIndication, s.Reason, c.indication, c.sub)
				}
				if c.indication != TotalPassed && !strings.Contains(s.Reason, c.field) {
					t.Errorf("%s: reason %q does not name the time-stamp %s", s.Field, s.Reason, c.field)
				}
				if c.needed && !strings.Contains(s.Reason, "renewal was due by "+rep.Renewal.NotAfter.Format("2006-01-02")) {
					t.Errorf("%s: reason %q does not name the renewal date", s.Field, s.Reason)
				}
			}
			if rep.Valid != (c.indication == TotalPassed) {
				t.Errorf("valid %v", rep.Valid)
			}
			r := rep.Renewal
			if r == nil {
				t.Fatal("no renewal state")
			}
			if r.Field != c.field || r.Needed != c.needed || !strings.Contains(r.Authority, "Archive TSA") || r.Time.IsZero() {
				t.Errorf("renewal %+v, want field %s, needed %v", r, c.field, c.needed)
			}
			if !c.notAfter.IsZero() && !r.NotAfter.Equal(c.notAfter) {
				t.Errorf("renewal due %v, want the authority's NotAfter %v", r.NotAfter, c.notAfter)
			}
			if c.notAfter.IsZero() && !r.NotAfter.Before(archive12.NotAfter) {
				t.Errorf("renewal due %v, want the revocation time", r.NotAfter)
			}
		})
	}
}

// TestLatestSignatureTimestamp: without a document time-stamp the latest
// time-stamp is the signature time-stamp, and a document without any
// has no renewal state.
func TestLatestSignatureTimestamp(t *testing.T) {
	p := sharedPKI(t)
	bt := verifyFile(t, signFile(t, corpusPath("classic.pdf"), p.options(LevelBT)), p.roots)
	if r := bt.Renewal; r == nil || r.Field != "Signature1" || r.Needed || !r.NotAfter.Equal(p.tsaSrv.Certificate.NotAfter) {
		t.Errorf("B-T renewal %+v, want Signature1 due at the TSA's NotAfter %v", r, p.tsaSrv.Certificate.NotAfter)
	}
	bb := verifyFile(t, signFile(t, corpusPath("classic.pdf"), p.options(LevelBB)), p.roots)
	if bb.Renewal != nil {
		t.Errorf("B-B renewal %+v, want none", bb.Renewal)
	}
}

// TestUntrustedLatestTimestampPassedOver: a document time-stamp whose
// authority does not chain to the trust anchors proves nothing; the
// latest time-stamp is then the signature time-stamp before it.
func TestUntrustedLatestTimestampPassedOver(t *testing.T) {
	p := sharedPKI(t)
	signed := signFile(t, corpusPath("classic.pdf"), p.options(LevelBT))
	foreign, err := testpki.NewRoot("Foreign Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := foreign.IssueTSA("Foreign TSA", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&tsa.Server{Signer: key, Certificate: cert, Policy: testPolicy})
	defer srv.Close()
	f, err := os.OpenFile(signed, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if _, err := AddDocumentTimestamp(context.Background(), f, st.Size(), LTVOptions{Timestamper: &tsa.Client{URLs: []string{srv.URL}}}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep := verifyFile(t, signed, p.roots)
	if len(rep.Signatures) != 2 {
		t.Fatalf("%d signatures, want 2", len(rep.Signatures))
	}
	if s := rep.Signatures[1]; s.Indication != Indeterminate || s.SubIndication != NoCertificateChainFound {
		t.Errorf("foreign document time-stamp: %s/%s, want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", s.Indication, s.SubIndication)
	}
	if s := rep.Signatures[0]; s.Indication != TotalPassed {
		t.Errorf("signature: %s/%s (%s), want TOTAL-PASSED", s.Indication, s.SubIndication, s.Reason)
	}
	if r := rep.Renewal; r == nil || r.Field != "Signature1" || !strings.Contains(r.Authority, "Signet Test TSA") {
		t.Errorf("renewal %+v, want the signature time-stamp of Signature1", r)
	}
}
