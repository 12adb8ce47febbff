package archive

import (
	"crypto"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// maxContents bounds the /Contents gap read for the latest time-stamp
// (pades.Verify refuses larger ones too).
const maxContents = 4 << 20

// A state is what renewal needs to know of one version of a document.
type state struct {
	// due is when the version must be renewed (zero: at once, it has no
	// time-stamp).
	due time.Time
	// stamped is the genTime of its latest time-stamp (zero without).
	stamped time.Time
	// authority is the subject of the latest time-stamp's authority.
	authority string
	// reason says why it is due then.
	reason string
	// invalid is set when a signature or time-stamp of the version is
	// TOTAL-FAILED: renewing would time-stamp a broken document, so it is
	// not renewed, and counts as failed.
	invalid string
}

// stateOf reads the state of the document in src (size bytes), its due
// date computed with margin and table.
func stateOf(src io.ReaderAt, size int64, opts pades.VerifyOptions, margin time.Duration, table []Weakening) (state, error) {
	rep, err := pades.Verify(src, size, opts)
	if err != nil {
		return state{}, fmt.Errorf("archive: reading the document: %w", err)
	}
	latest := -1
	for i, s := range rep.Signatures {
		if s.Indication == pades.TotalFailed {
			return state{invalid: fmt.Sprintf("%s %q is %s (%s)", s.Kind, s.Field, s.Indication, s.SubIndication)}, nil
		}
		if s.TimestampTime == nil || s.TimestampAuthority == nil {
			continue
		}
		if latest < 0 || !s.TimestampTime.Before(*rep.Signatures[latest].TimestampTime) {
			latest = i
		}
	}
	if latest < 0 {
		return state{reason: "the document has no time-stamp"}, nil
	}
	s := rep.Signatures[latest]
	st := state{stamped: s.TimestampTime.UTC(), authority: s.TimestampAuthority.Subject}
	end, reason := s.TimestampAuthority.NotAfter, "the time-stamp authority's certificate expires "+s.TimestampAuthority.NotAfter.UTC().Format(time.DateOnly)
	tok, err := latestToken(src, s)
	if err != nil {
		return state{}, err
	}
	signer, err := tok.SignedData.SignerCertificate()
	if err != nil {
		return state{}, fmt.Errorf("archive: the latest time-stamp's authority: %w", err)
	}
	if at, what := weakensAt(table, []crypto.Hash{tok.Info.Hash, tok.SignedData.DigestAlgorithm}, signer.PublicKey); !at.IsZero() && at.Before(end) {
		end, reason = at, what+" from "+at.Format(time.DateOnly)
	}
	st.due, st.reason = end.Add(-margin).UTC(), reason
	return st, nil
}

// latestToken returns the time-stamp token of s: the document
// time-stamp's own, or a signature's time-stamp attribute.
func latestToken(src io.ReaderAt, s *pades.SignatureReport) (*tsa.Token, error) {
	der, err := signatureContents(src, s.ByteRange)
	if err != nil {
		return nil, err
	}
	if s.Kind != "document-timestamp" {
		sd, err := cms.Parse(der)
		if err != nil {
			return nil, fmt.Errorf("archive: signature %q: %w", s.Field, err)
		}
		if der = sd.TimestampToken(); der == nil {
			return nil, fmt.Errorf("archive: signature %q has no time-stamp token", s.Field)
		}
	}
	tok, err := tsa.ParseToken(der)
	if err != nil {
		return nil, fmt.Errorf("archive: time-stamp of %q: %w", s.Field, err)
	}
	return tok, nil
}

// signatureContents returns the DER value of the /Contents hex string
// that byte range br leaves out, without its zero padding.
func signatureContents(src io.ReaderAt, br []int64) ([]byte, error) {
	if len(br) != 4 || br[1] < 0 || br[2]-br[1] < 2 || br[2]-br[1] > maxContents {
		return nil, errors.New("archive: malformed /ByteRange")
	}
	raw := make([]byte, br[2]-br[1])
	if n, err := src.ReadAt(raw, br[1]); n < len(raw) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("archive: reading /Contents: %w", err)
	}
	if raw[0] != '<' || raw[len(raw)-1] != '>' || len(raw)%2 != 0 {
		return nil, errors.New("archive: the /ByteRange gap is not a /Contents hex string")
	}
	dec := make([]byte, (len(raw)-2)/2)
	if _, err := hex.Decode(dec, raw[1:len(raw)-1]); err != nil {
		return nil, fmt.Errorf("archive: /Contents: %w", err)
	}
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(dec, &v); err != nil {
		return nil, fmt.Errorf("archive: /Contents: %w", err)
	}
	return v.FullBytes, nil
}
