package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/logbench"
)

// Environment of the crash child: the test binary re-executed to append to
// a database until it is killed.
const (
	envCrashDB  = "SIGNET_SQLITE_CRASH_DB"
	envCrashKey = "SIGNET_SQLITE_CRASH_KEY"
	envCrashTag = "SIGNET_SQLITE_CRASH_TAG"
	crashOrigin = "signet.test/crash"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envCrashDB); path != "" {
		os.Exit(crashChild(path, os.Getenv(envCrashKey), os.Getenv(envCrashTag)))
	}
	os.Exit(m.Run())
}

// crashChild appends events from many goroutines through a real
// auditlog.Log with a checkpoint publisher, and prints "ack INDEX ID" on
// stdout as soon as each Append returns. It runs until killed.
func crashChild(path, skey, tag string) int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "crash child: %v\n", err)
		return 3
	}
	s, err := Open(path)
	if err != nil {
		return fail(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return fail(err)
	}
	pub, err := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: crashOrigin, Signer: signer, Every: 300})
	if err != nil {
		return fail(err)
	}
	pub.Start(ctx)
	l, err := auditlog.New(ctx, auditlog.Config{Storage: s, Keys: logbench.Keys(), Publisher: pub})
	if err != nil {
		return fail(err)
	}
	var mu sync.Mutex
	out := os.Stdout
	fmt.Fprintln(out, "ready")
	const appenders = 32
	var wg sync.WaitGroup
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				e := logbench.Event(a, i)
				e.ID = fmt.Sprintf("%s-%d-%d", tag, a, i)
				idx, err := l.Append(ctx, e)
				if err != nil {
					fmt.Fprintf(os.Stderr, "crash child: append: %v\n", err)
					os.Exit(4)
				}
				// One write(2) per line: a SIGKILL cannot split it.
				mu.Lock()
				out.WriteString("ack " + strconv.FormatInt(idx, 10) + " " + e.ID + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

type ack struct {
	index int64
	id    string
}

// runCrashChild starts a child on path, kills it with SIGKILL after a
// random delay once it is appending, and returns the acknowledgements it
// printed.
func runCrashChild(t *testing.T, path, skey, tag string, delay time.Duration) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashKey+"="+skey, envCrashTag+"="+tag)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("crash child did not start: %q\n%s", sc.Text(), stderr.String())
	}
	timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
	defer timer.Stop()
	var acks []ack
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			t.Fatalf("crash child printed %q", sc.Text())
		}
		idx, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("crash child printed %q", sc.Text())
		}
		acks = append(acks, ack{idx, f[2]})
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child ended with %v before it was killed\n%s", err, stderr.String())
	}
	return acks
}

// TestCrash kills an appending process (32 goroutines appending through
// auditlog.Log, checkpoints published every 300 events) with SIGKILL at a
// random moment, ten times over the same database, and after each crash
// checks that every acknowledged index holds the acknowledged event, that
// events acknowledged in earlier rounds are unchanged, and that
// auditlog.Verify (leaf hashes, tree, checkpoint signatures and
// consistency) passes. Set SIGNET_CRASH_ROUNDS for a longer run.
func TestCrash(t *testing.T) {
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("SIGNET_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	skey, vkey, err := note.GenerateKey(rand.Reader, crashOrigin)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	type kept struct {
		id   string
		leaf []byte
	}
	seen := map[int64]kept{} // acknowledged in earlier rounds
	total := 0
	for round := 0; round < rounds; round++ {
		ms, _ := rand.Int(rand.Reader, big.NewInt(500))
		delay := 50*time.Millisecond + time.Duration(ms.Int64())*time.Millisecond
		acks := runCrashChild(t, path, skey, fmt.Sprintf("r%d", round), delay)
		total += len(acks)

		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		n, err := s.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Records(ctx, 0, n)
		if err != nil || int64(len(all)) != n {
			t.Fatalf("round %d: read %d of %d records: %v", round, len(all), n, err)
		}
		for _, a := range acks {
			if a.index >= n {
				t.Fatalf("round %d: acknowledged index %d (%s) lost: size is %d", round, a.index, a.id, n)
			}
			r := all[a.index]
			if r.Index != a.index || r.ID != a.id || !bytes.Contains(r.Leaf, []byte(`"`+a.id+`"`)) {
				t.Fatalf("round %d: index %d holds %s, acknowledged %s", round, a.index, r.ID, a.id)
			}
			seen[a.index] = kept{a.id, r.Leaf}
		}
		for idx, k := range seen {
			if r := all[idx]; r.ID != k.id || !bytes.Equal(r.Leaf, k.leaf) {
				t.Fatalf("round %d: event %d (%s) acknowledged earlier changed: now %s", round, idx, k.id, r.ID)
			}
		}
		res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier, Origin: crashOrigin})
		if err != nil {
			t.Fatalf("round %d: Verify after SIGKILL: %v", round, err)
		}
		if res.Size != n {
			t.Fatalf("round %d: verified %d of %d records", round, res.Size, n)
		}
		t.Logf("round %d: killed after %v, %d acknowledged, size %d, %d checkpoints", round, delay, len(acks), n, res.Checkpoints)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if total == 0 {
		t.Fatalf("no append was acknowledged in %d rounds", rounds)
	}
}
