package dataseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seeds in testdata/fuzz")

// fuzzKEK is the KEK the fuzz seeds are sealed under.
var fuzzKEK = NewAESKEK("fuzz-v1", key(7))

func seedValues(t *testing.T) (values, streams [][]byte) {
	for _, n := range []int{0, 1, 100} {
		v, err := Seal(context.Background(), fuzzKEK, testAD, bytes.Repeat([]byte{'v'}, n), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	for _, n := range []int{0, 5, SegmentSize + 10} {
		var buf bytes.Buffer
		w, err := NewWriter(context.Background(), fuzzKEK, testAD, &buf, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{'s'}, n))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, buf.Bytes())
	}
	return values, streams
}

// TestFuzzSeeds checks that the stored seeds open (so the fuzzers start
// from valid values and streams) and rewrites them with -update-seeds.
func TestFuzzSeeds(t *testing.T) {
	values, streams := seedValues(t)
	for name, set := range map[string][][]byte{"FuzzOpen": values, "FuzzNewReader": streams, "FuzzNewReaderAt": streams} {
		dir := filepath.Join("testdata", "fuzz", name)
		for i, v := range set {
			file := filepath.Join(dir, fmt.Sprintf("seed%d", i))
			if *updateSeeds {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(file, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", v), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lit, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
			lit, ok2 := strings.CutSuffix(lit, ")")
			seed, err := strconv.Unquote(lit)
			if !ok || !ok2 || err != nil {
				t.Fatalf("%s: not a fuzz seed (%v); run go test -run TestFuzzSeeds -update-seeds", file, err)
			}
			var err2 error
			switch name {
			case "FuzzOpen":
				_, err2 = Open(context.Background(), fuzzKEK, testAD, []byte(seed))
			case "FuzzNewReaderAt":
				var ra *ReaderAt
				if ra, err2 = newReaderAt(fuzzKEK, testAD, []byte(seed)); err2 == nil {
					_, err2 = readAllAt(ra, 1000)
				}
			default:
				_, err2 = openStream(fuzzKEK, testAD, []byte(seed))
			}
			if err2 != nil {
				t.Errorf("%s: %v", file, err2)
			}
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := Open(context.Background(), fuzzKEK, testAD, b)
		if err != nil {
			return
		}
		// Only a value wrapped by the fuzz KEK may open.
		if h, _, _ := parse(b); h.version != "fuzz-v1" || len(pt) > MaxValueSize {
			t.Fatalf("opened under version %q", h.version)
		}
	})
}

func FuzzNewReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(context.Background(), fuzzKEK, testAD, bytes.NewReader(b))
		if err != nil {
			return
		}
		n, err := io.Copy(io.Discard, r)
		if err == nil && n > int64(len(b)) {
			t.Fatalf("read %d bytes from %d", n, len(b))
		}
	})
}

// FuzzNewReaderAt checks that random access accepts exactly the streams
// that the sequential reader accepts, with the same plaintext, and that
// reads at arbitrary windows and a StreamReader from the middle agree
// with it.
func FuzzNewReaderAt(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := openStream(fuzzKEK, testAD, b)
		ra, err := newReaderAt(fuzzKEK, testAD, b)
		var got []byte
		if err == nil {
			got, err = readAllAt(ra, 4093)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("ReaderAt error %v, Reader error %v", err, werr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got, want) || ra.Size() != int64(len(want)) {
			t.Fatalf("ReaderAt read %d bytes (size %d), Reader %d", len(got), ra.Size(), len(want))
		}
		// A window around the middle.
		mid := len(want) / 2
		p := make([]byte, min(len(want)-mid, SegmentSize+3))
		if n, err := ra.ReadAt(p, int64(mid)); n != len(p) || (err != nil && err != io.EOF) || !bytes.Equal(p, want[mid:mid+len(p)]) {
			t.Fatalf("window at %d: %d bytes, %v", mid, n, err)
		}
		// A sequential read from the middle.
		st := ra.Stream(int64(mid))
		rest, err := io.ReadAll(st)
		st.Close()
		if err != nil || !bytes.Equal(rest, want[mid:]) {
			t.Fatalf("stream from %d: %d bytes, %v", mid, len(rest), err)
		}
	})
}
