package witnesstest

import (
	"bytes"
	"testing"
)

// FuzzParseRequest checks that every accepted add-checkpoint body
// re-encodes to itself.
func FuzzParseRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			return
		}
		if got := r.Marshal(); !bytes.Equal(got, body) {
			t.Fatalf("Marshal() = %q, input %q", got, body)
		}
		if len(r.Proof) > 63 {
			t.Fatalf("accepted %d proof lines", len(r.Proof))
		}
	})
}

// FuzzParseCheckpoint checks that every accepted checkpoint body
// re-encodes to itself.
func FuzzParseCheckpoint(f *testing.F) {
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if got := c.Marshal(); !bytes.Equal(got, text) {
			t.Fatalf("Marshal() = %q, input %q", got, text)
		}
	})
}

func TestParseRequest(t *testing.T) {
	const note = "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— o AAAAAAAA\n"
	const hash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
	for _, tc := range []struct {
		name   string
		body   string
		ok     bool
		old    int64
		proofs int
	}{
		{"no proof", "old 0\n\n" + note, true, 0, 0},
		{"two proof lines", "old 7\n" + hash + hash + "\n" + note, true, 7, 2},
		{"63 proof lines", "old 7\n" + string(bytes.Repeat([]byte(hash), 63)) + "\n" + note, true, 7, 63},
		{"64 proof lines", "old 7\n" + string(bytes.Repeat([]byte(hash), 64)) + "\n" + note, false, 0, 0},
		{"leading zero", "old 07\n\n" + note, false, 0, 0},
		{"negative", "old -1\n\n" + note, false, 0, 0},
		{"no old line", hash + "\n" + note, false, 0, 0},
		{"short hash", "old 1\nAAAA\n\n" + note, false, 0, 0},
		{"CR in hash", "old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDp\rkaw=\n\n" + note, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (r.Old != tc.old || len(r.Proof) != tc.proofs || string(r.Note) != note) {
				t.Fatalf("parsed %+v", r)
			}
		})
	}
}
