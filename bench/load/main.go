// Command load measures Signet's recipient signing over loopback: it
// starts a server in process (TLS 1.3, SQLite, software keys, the
// built-in TSA, an in-process SMTP mailbox), prepares envelopes with a
// 1 MB PDF, authenticates and consents each first signer, and then times
// only the sign calls (PAdES B-T with a short-lived certificate from the
// tenant's CA, the new revision stored, the next signer notified) at each
// concurrency level. For each level it also reports the CPU time per
// signature of this process (the server and the load client) and of the
// PostgreSQL server's processes, and how idle the machine's CPUs were
// meanwhile. Beside them it measures the raw floor of this machine:
// ECDSA P-256 signatures/s and fsyncs/s.
//
//	go run ./bench/load [-n 200] [-c 1,16,64] [-size 1048576] [-timeout 10m]
//	    [-stores sqlite,postgres,postgres2]
//
// -stores measures several deployments in one run: one node on SQLite,
// one node on a throwaway PostgreSQL server (started with Debian's server
// binaries, as the tests do), two nodes on one PostgreSQL database (the
// sign calls alternate between them).
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

func main() {
	n := flag.Int("n", 200, "sign calls per concurrency level")
	levels := flag.String("c", "1,16,64", "concurrency levels")
	size := flag.Int64("size", 1<<20, "approximate PDF size in bytes")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on the whole run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed sign calls to this file")
	blockprofile := flag.String("blockprofile", "", "write a blocking profile of the last concurrency level's sign calls to this file")
	stores := flag.String("stores", "sqlite", "deployments to measure in turn: sqlite, postgres (one node), postgres2 (two nodes on one database)")
	flag.Parse()
	deps, err := parseDeployments(*stores)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		defer f.Close()
		profile = f
	}
	blockProfilePath = *blockprofile
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *n, *levels, *size, deps); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// profile, if set, receives a CPU profile of the first level's sign
// calls.
var profile *os.File

// blockProfilePath, if set, receives a blocking profile of the last
// level's sign calls: where they wait (locks, database connections, I/O).
var blockProfilePath string

var keyRE = regexp.MustCompile(`\bsk_[A-Za-z0-9_-]+`)

// A deployment is what one line of the results measures: one node on
// SQLite, one node on PostgreSQL, or two nodes on one PostgreSQL database.
type deployment struct {
	name  string
	nodes int
	pg    bool
}

func parseDeployments(s string) ([]deployment, error) {
	var out []deployment
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "sqlite":
			out = append(out, deployment{name: "SQLite, 1 node", nodes: 1})
		case "postgres":
			out = append(out, deployment{name: "PostgreSQL, 1 node", nodes: 1, pg: true})
		case "postgres2":
			out = append(out, deployment{name: "PostgreSQL, 2 nodes", nodes: 2, pg: true})
		default:
			return nil, fmt.Errorf("unknown deployment %q (want sqlite, postgres or postgres2)", f)
		}
	}
	return out, nil
}

// cluster is a throwaway PostgreSQL server, started on first use.
var cluster *pgtest.Cluster

func run(ctx context.Context, n int, levels string, size int64, deps []deployment) error {
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 1, Title: "Load test", Padding: size}); err != nil {
		return err
	}
	defer func() {
		if cluster != nil {
			cluster.Stop()
		}
	}()
	fmt.Printf("Signet recipient signing over loopback: %d-byte PDF, PAdES B-T, built-in TSA, software keys, %d CPUs\n\n", doc.Len(), runtime.NumCPU())
	fmt.Println("| deployment | concurrent recipients | sign calls | signatures/s | p50 | p99 | max | CPU per signature: Signet process | PostgreSQL server | machine idle |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, dep := range deps {
		if err := runDeployment(ctx, dep, n, levels, doc.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", dep.name, err)
		}
	}
	fmt.Println()
	dir, err := os.MkdirTemp("", "signet-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	floor(filepath.Join(dir, "fsync"))
	return nil
}

// runDeployment starts dep's nodes, prepares envelopes through the first
// and times the sign calls spread over every node.
func runDeployment(ctx context.Context, dep deployment, n int, levels string, doc []byte) error {
	dir, err := os.MkdirTemp("", "signet-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		return err
	}
	defer box.Close()
	base := server.Config{
		Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0",
		RateLimits: &api.RateLimits{}, // the load comes from one address
		SMTP:       server.SMTPConfig{Addr: box.Addr(), From: "signet@load.invalid"},
	}
	var opts []server.Option
	if dep.pg {
		if cluster == nil {
			if cluster, err = pgtest.Start(); err != nil {
				return err
			}
		}
		owner, app, err := cluster.NewDatabase(ctx)
		if err != nil {
			return err
		}
		base.DatabaseURL, base.DatabaseAdminURL = app, owner
		// Every node is given the same master key.
		mk := make([]byte, 32)
		rand.Read(mk)
		opts = append(opts, server.WithMasterKey(base64.StdEncoding.EncodeToString(mk)))
	}
	var clients []*apiclient.Client
	var term bytes.Buffer
	for i := 0; i < dep.nodes; i++ {
		cfg := base
		cfg.DataDir = filepath.Join(dir, fmt.Sprintf("node%d", i))
		srv, err := server.New(ctx, cfg, append(opts, server.WithTerminal(&term), server.WithLogger(slog.New(slog.DiscardHandler)))...)
		if err != nil {
			return err
		}
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(runCtx) }()
		defer func() { stop(); <-done }()
		rootPEM, err := os.ReadFile(filepath.Join(cfg.DataDir, "pki", "root.pem"))
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(rootPEM)
		hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}, MaxIdleConnsPerHost: 128,
		}}
		clients = append(clients, &apiclient.Client{Base: "https://" + srv.Addr().String(), HTTP: hc})
	}
	c := clients[0]
	admin := c.WithAuth("Bearer " + keyRE.FindString(term.String()))
	tn, err := admin.CreateTenant(ctx, "Load")
	if err != nil {
		return err
	}
	secret, err := admin.CreateKey(ctx, tn.ID, "load", []string{"sender"}, []string{"document.upload", "envelope.prepare", "envelope.send", "envelope.read"})
	if err != nil {
		return err
	}
	sender := c.WithAuth("Bearer " + secret)
	mb := &apiclient.Mailbox{Inbox: box.Sent()}
	round := 0
	for _, f := range strings.Split(levels, ",") {
		conc, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || conc < 1 {
			return fmt.Errorf("bad concurrency %q", f)
		}
		round++
		sessions, err := prepare(ctx, sender, c, mb, doc, n, round)
		if err != nil {
			return err
		}
		// The sign calls are spread over the nodes: a recipient who
		// authenticated on the first signs on any.
		for i, s := range sessions {
			node := clients[i%len(clients)]
			s.Base, s.HTTP = node.Base, node.HTTP
		}
		// The timed calls start on a quiet disk: the preparation's
		// writes (and the deletes of its uploads' temporary files) are
		// flushed first.
		syscall.Sync()
		time.Sleep(time.Second)
		if profile != nil {
			if err := pprof.StartCPUProfile(profile); err != nil {
				return err
			}
		}
		if blockProfilePath != "" {
			runtime.SetBlockProfileRate(10000) // one event per 10 µs blocked
		}
		serverPID := 0
		if dep.pg {
			serverPID = cluster.ServerPID()
		}
		cpu0 := readCPU(serverPID)
		total0, idle0 := machineTicks()
		lat, wall, err := signAll(ctx, sessions, conc)
		cpu1 := readCPU(serverPID)
		total1, idle1 := machineTicks()
		if blockProfilePath != "" {
			runtime.SetBlockProfileRate(0)
			if f, ferr := os.Create(blockProfilePath); ferr == nil {
				pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}
		if profile != nil {
			pprof.StopCPUProfile()
			profile = nil // one profile: the first level
		}
		if err != nil {
			return err
		}
		slices.Sort(lat)
		server, idle := "–", "–"
		if serverPID != 0 {
			server = ms((cpu1.server - cpu0.server) / time.Duration(n))
		}
		if total1 > total0 {
			idle = fmt.Sprintf("%.0f%%", 100*float64(idle1-idle0)/float64(total1-total0))
		}
		fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", dep.name, conc, n, float64(n)/wall.Seconds(),
			ms(lat[len(lat)/2]), ms(lat[(len(lat)*99+99)/100-1]), ms(lat[len(lat)-1]),
			ms((cpu1.self-cpu0.self)/time.Duration(n)), server, idle)
	}
	return nil
}

// prepare makes n envelopes, each to two signers in sequence, and returns
// a session of each first signer, authenticated and consented.
func prepare(ctx context.Context, sender, c *apiclient.Client, mb *apiclient.Mailbox, pdfBytes []byte, n, round int) ([]*apiclient.Client, error) {
	out := make([]*apiclient.Client, n)
	errs := make(chan error, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				a := fmt.Sprintf("first%d-%04d@example.com", round, i)
				b := fmt.Sprintf("second%d-%04d@example.com", round, i)
				d, err := sender.Upload(ctx, "load.pdf", pdfBytes)
				if err != nil {
					errs <- err
					continue
				}
				e, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "Load", Documents: []string{d.ID}, Recipients: []workflow.RecipientInput{
					{Role: workflow.RoleSigner, Name: "First Signer", Email: a, Order: 1},
					{Role: workflow.RoleSigner, Name: "Second Signer", Email: b, Order: 2},
				}})
				if err == nil {
					_, err = sender.Send(ctx, e.ID)
				}
				var link string
				if err == nil {
					link, err = mb.Link(ctx, a, 1)
				}
				var rc *apiclient.Client
				if err == nil {
					rc, err = mb.Authenticate(ctx, c, a, link)
				}
				if err == nil {
					err = rc.Consent(ctx)
				}
				if err != nil {
					errs <- err
					continue
				}
				out[i] = rc
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("preparing envelopes: %w", err)
	}
	return out, nil
}

// signAll makes every session sign, conc at a time, and returns each sign
// call's latency and the wall time.
func signAll(ctx context.Context, sessions []*apiclient.Client, conc int) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, len(sessions))
	errs := make(chan error, len(sessions))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t0 := time.Now()
				if _, err := sessions[i].Sign(ctx); err != nil {
					errs <- err
					continue
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	start := time.Now()
	for i := range sessions {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, fmt.Errorf("sign: %w", err)
	}
	return lat, wall, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// floor prints the machine's raw rates: ECDSA P-256 signatures/s on one
// goroutine and on one per CPU, and 4 KiB write+fsync/s in the data
// directory's file system.
func floor(path string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("floor"))
	rate := func(workers int) float64 {
		var wg sync.WaitGroup
		counts := make([]int, workers)
		deadline := time.Now().Add(time.Second)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err == nil {
						counts[w]++
					}
				}
			}()
		}
		wg.Wait()
		total := 0
		for _, c := range counts {
			total += c
		}
		return float64(total)
	}
	fmt.Println("| raw floor | per second |")
	fmt.Println("|---|---:|")
	fmt.Printf("| ECDSA P-256 signatures, 1 goroutine | %.0f |\n", rate(1))
	fmt.Printf("| ECDSA P-256 signatures, %d goroutines | %.0f |\n", runtime.NumCPU(), rate(runtime.NumCPU()))
	f, err := os.Create(path)
	if err != nil {
		fmt.Println("| fsync |", err, "|")
		return
	}
	defer f.Close()
	buf := make([]byte, 4096)
	count := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, err := f.Write(buf); err != nil {
			break
		}
		if err := f.Sync(); err != nil {
			break
		}
		count++
	}
	fmt.Printf("| 4 KiB write + fsync | %d |\n", count)
}
