package anchor_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
)

func TestFileSink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &anchor.FileSink{Dir: dir}
	if _, err := s.Latest(ctx); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("empty sink Latest: %v, want ErrNotFound", err)
	}
	l := newTestLog(t, testOrigin)
	cps := map[int64]auditlog.Checkpoint{}
	var order []int64
	for _, n := range []int64{3, 10, 7, 0} { // out of order: Latest is by size
		l2 := l.fork(t, 0).grow(t, n)
		cp := l2.checkpoint(t)
		loc, err := s.Put(ctx, cp)
		if err != nil {
			t.Fatalf("Put(%d): %v", n, err)
		}
		if want := filepath.Join(dir, fmt.Sprintf("%d.checkpoint", n)); loc != want {
			t.Errorf("locator %q, want %q", loc, want)
		}
		fi, err := os.Stat(loc)
		if err != nil || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: mode %v, %v; want 0400", loc, fi.Mode(), err)
		}
		cps[n] = cp
		order = append(order, n)
	}
	latest, err := s.Latest(ctx)
	if err != nil || latest.Size != 10 || string(latest.Note) != string(cps[10].Note) {
		t.Fatalf("Latest = %d, %v; want checkpoint 10", latest.Size, err)
	}

	// The same checkpoint again is accepted; a different one is refused and
	// the stored file is untouched.
	if _, err := s.Put(ctx, cps[7]); err != nil {
		t.Fatalf("identical re-put: %v", err)
	}
	fork := l.fork(t, 6)
	fork.add(t, []byte("rewritten 6"))
	if _, err := s.Put(ctx, fork.checkpoint(t)); !errors.Is(err, anchor.ErrExists) {
		t.Fatalf("overwrite of 7: %v, want ErrExists", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "7.checkpoint")); string(got) != string(cps[7].Note) {
		t.Fatal("checkpoint 7 was modified")
	}
	// A note that disagrees with its record, or is no checkpoint, is refused.
	bad := cps[3]
	bad.Size = 4
	if _, err := s.Put(ctx, bad); !errors.Is(err, anchor.ErrMalformed) {
		t.Fatalf("size mismatch: %v, want ErrMalformed", err)
	}
	if _, err := s.Put(ctx, auditlog.Checkpoint{Size: 5, Note: []byte("hello\n\n— x AAAA\n")}); !errors.Is(err, anchor.ErrMalformed) {
		t.Fatalf("not a checkpoint: %v, want ErrMalformed", err)
	}

	// The index has one line per successful Put, in order.
	f, err := os.Open(filepath.Join(dir, anchor.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var n int64
		var b64 string
		if _, err := fmt.Sscanf(sc.Text(), "%d %s", &n, &b64); err != nil {
			t.Fatalf("index line %q: %v", sc.Text(), err)
		}
		note, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || string(note) != string(cps[n].Note) {
			t.Fatalf("index line for %d does not hold its note", n)
		}
		got = append(got, n)
	}
	if want := append(order, 7); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("index sizes %v, want %v", got, want)
	}
}

func TestVerifySink(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, testOrigin)
	cp5 := l.grow(t, 5).checkpoint(t)
	cp9 := l.grow(t, 9).checkpoint(t)
	fork := l.fork(t, 8)
	fork.add(t, []byte("rewritten 8"))
	fork9 := fork.checkpoint(t)
	cp12 := l.grow(t, 12).checkpoint(t)

	for _, tc := range []struct {
		name string
		sink []auditlog.Checkpoint
		log  []auditlog.Checkpoint
		is   error
	}{
		{"empty sink", nil, []auditlog.Checkpoint{cp5}, nil},
		{"in step", []auditlog.Checkpoint{cp5, cp9}, []auditlog.Checkpoint{cp5, cp9}, nil},
		{"log ahead", []auditlog.Checkpoint{cp5}, []auditlog.Checkpoint{cp5, cp9}, nil},
		{"log rolled back", []auditlog.Checkpoint{cp5, cp9, cp12}, []auditlog.Checkpoint{cp5, cp9}, anchor.ErrRollback},
		{"log emptied", []auditlog.Checkpoint{cp5}, nil, anchor.ErrRollback},
		{"log rewritten and re-signed", []auditlog.Checkpoint{cp5, cp9}, []auditlog.Checkpoint{cp5, fork9, cp12}, anchor.ErrForked},
		{"log lost a checkpoint", []auditlog.Checkpoint{cp9}, []auditlog.Checkpoint{cp5, cp12}, anchor.ErrForked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &anchor.FileSink{Dir: t.TempDir()}
			for _, cp := range tc.sink {
				if _, err := s.Put(ctx, cp); err != nil {
					t.Fatal(err)
				}
			}
			err := anchor.VerifySink(ctx, s, tc.log)
			if tc.is == nil && err != nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("VerifySink: %v, want %v", err, tc.is)
			}
		})
	}
}

func TestSinkAnchorer(t *testing.T) {
	s := &anchor.FileSink{Dir: t.TempDir()}
	sa := &anchor.SinkAnchorer{Sink: s, Name: "file:" + s.Dir}
	cp := newTestLog(t, testOrigin).grow(t, 4).checkpoint(t)
	as, err := sa.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Kind != anchor.KindSink || as[0].Size != 4 || !strings.HasSuffix(string(as[0].Data), "4.checkpoint") {
		t.Fatalf("anchors %+v", as)
	}
	missing := &anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: filepath.Join(s.Dir, "absent")}}
	if _, err := missing.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil); err == nil {
		t.Fatal("sink in a missing directory: no error")
	}
}
