// Package pgtest runs a throwaway PostgreSQL server for Signet's tests.
//
// [Main] starts one cluster per test binary with Debian's server binaries
// (initdb and pg_ctl from /usr/lib/postgresql/*/bin) in a temporary
// directory, listening on a free loopback port, and removes it when the
// tests end. If SIGNET_TEST_POSTGRES_URL is set (a superuser URL), that
// server is used instead. Missing binaries fail the tests: `make test`
// installs Debian's postgresql package.
//
// Each test gets a fresh database from [NewDatabase], with an owner URL (the
// cluster superuser, which migrates and may tamper like a malicious DBA) and
// an application URL (a role with only the privileges that migrations
// grant it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
)

// EnvURL names the environment variable that points the tests at an
// existing server (a superuser URL) instead of a throwaway cluster.
const EnvURL = "SIGNET_TEST_POSTGRES_URL"

// AppRole is the login role the application connects as in tests.
const AppRole = "signet_app"

// A Cluster is a running PostgreSQL server.
type Cluster struct {
	// AdminURL is a superuser URL for the server's "postgres" database.
	AdminURL string
	// AppPassword is the password of [AppRole].
	AppPassword string

	base     string    // temporary directory (data, socket, log); "" if external
	bin      string    // directory of pg_ctl
	watchdog *exec.Cmd // removes the cluster if this process dies first

	mu  sync.Mutex
	dbs []string // databases created on an external server
}

var (
	sharedMu sync.Mutex
	shared   *Cluster
)

// Main starts the cluster shared by the tests of one binary, runs them and
// stops it. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	c, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	sharedMu.Lock()
	shared = c
	sharedMu.Unlock()
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDatabase creates an empty database on the cluster started by [Main]
// and returns its owner (superuser) and application URLs. The database is
// dropped, or removed with the cluster, at the end.
func NewDatabase(t testing.TB) (ownerURL, appURL string) {
	t.Helper()
	sharedMu.Lock()
	c := shared
	sharedMu.Unlock()
	if c == nil {
		t.Fatalf("pgtest: no cluster: call pgtest.Main from TestMain")
	}
	owner, app, err := c.NewDatabase(context.Background())
	if err != nil {
		t.Fatalf("%v", err)
	}
	return owner, app
}

// Start starts a throwaway cluster, or connects to the server named by
// SIGNET_TEST_POSTGRES_URL, and makes sure [AppRole] exists.
func Start() (*Cluster, error) {
	pw := randomHex(16)
	var c *Cluster
	if u := os.Getenv(EnvURL); u != "" {
		c = &Cluster{AdminURL: u, AppPassword: pw}
	} else {
		var err error
		if c, err = startLocal(); err != nil {
			return nil, err
		}
		c.AppPassword = pw
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", AppRole).Scan(&exists); err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	// The role is a plain login role: no superuser, no CREATEDB, no
	// CREATEROLE, no BYPASSRLS.
	q := fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '%s'", verb, AppRole, pw)
	if _, err := conn.Exec(ctx, q); err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgtest: app role: %w", err)
	}
	return c, nil
}

// NewDatabase creates an empty database and returns its owner (superuser)
// and application URLs.
func (c *Cluster) NewDatabase(ctx context.Context) (ownerURL, appURL string, err error) {
	name := "signet_test_" + randomHex(6)
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return "", "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("pgtest: create database: %w", err)
	}
	c.mu.Lock()
	c.dbs = append(c.dbs, name)
	c.mu.Unlock()
	u, err := url.Parse(c.AdminURL)
	if err != nil {
		return "", "", fmt.Errorf("pgtest: admin URL: %w", err)
	}
	u.Path = "/" + name
	ownerURL = u.String()
	u.User = url.UserPassword(AppRole, c.AppPassword)
	return ownerURL, u.String(), nil
}

// Stop stops and removes a throwaway cluster, or drops the databases
// created on an external server.
func (c *Cluster) Stop() error {
	if c.base == "" {
		return c.dropDatabases()
	}
	err := c.pgctl("stop", "-m", "fast", "-w", "-t", "60")
	if c.watchdog != nil && c.watchdog.Process != nil {
		_ = c.watchdog.Process.Kill()
		_ = c.watchdog.Wait()
	}
	if rerr := os.RemoveAll(c.base); err == nil && rerr != nil {
		err = fmt.Errorf("pgtest: %w", rerr)
	}
	return err
}

func (c *Cluster) dropDatabases() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range c.dbs {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("pgtest: drop %s: %w", name, err)
		}
	}
	c.dbs = nil
	return nil
}

// findBin returns the bin directory of the newest installed PostgreSQL
// server.
func findBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[j]))))
		return vi > vj
	})
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "pg_ctl")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", fmt.Errorf("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: run make test, which installs Debian's postgresql package (or set %s)", EnvURL)
}

func startLocal() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "signet-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{base: base, bin: bin}
	fail := func(err error) (*Cluster, error) {
		if c.watchdog != nil {
			_ = c.watchdog.Process.Kill()
			_ = c.watchdog.Wait()
		}
		os.RemoveAll(base)
		return nil, err
	}
	pw := randomHex(16)
	if err := os.WriteFile(filepath.Join(base, "pw"), []byte(pw+"\n"), 0o600); err != nil {
		return fail(fmt.Errorf("pgtest: %w", err))
	}
	// initdb refuses to run as root: the cluster belongs to the postgres
	// user, which must own the directory.
	if os.Geteuid() == 0 {
		if err := chownPostgres(base, filepath.Join(base, "pw")); err != nil {
			return fail(err)
		}
	}
	// From here on, a cluster left behind by a killed test binary is
	// stopped and removed by the watchdog.
	c.startWatchdog()
	data := filepath.Join(base, "data")
	if out, err := c.command("initdb", "-D", data, "-U", "postgres", "-A", "scram-sha-256",
		"--pwfile="+filepath.Join(base, "pw"), "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v\n%s", err, out))
	}
	os.Remove(filepath.Join(base, "pw"))
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=400", port, base)
		if lastErr = c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(base, "log"), "-o", opts); lastErr != nil {
			continue // most likely the port was taken in between
		}
		c.AdminURL = (&url.URL{
			Scheme: "postgres",
			User:   url.UserPassword("postgres", pw),
			Host:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Path:   "/postgres",
		}).String() + "?sslmode=disable"
		return c, nil
	}
	log, _ := os.ReadFile(filepath.Join(base, "log"))
	return fail(fmt.Errorf("%w\n%s", lastErr, log))
}

// startWatchdog starts a shell that stops the cluster and deletes its
// directory if the test binary dies without calling Stop (a timeout, a
// SIGKILL).
func (c *Cluster) startWatchdog() {
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 1; done; %s; rm -rf %s`,
		os.Getpid(), strings.Join(c.commandLine("pg_ctl", "-D", filepath.Join(c.base, "data"), "stop", "-m", "immediate"), " "), c.base)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Start() == nil {
		c.watchdog = cmd
	}
}

func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", filepath.Join(c.base, "data")}, args...)
	out, err := c.command("pg_ctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl %s: %v\n%s", args[2], err, out)
	}
	return nil
}

// commandLine returns the argv that runs a server binary, as the postgres
// user when running as root.
func (c *Cluster) commandLine(name string, args ...string) []string {
	argv := append([]string{filepath.Join(c.bin, name)}, args...)
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	return argv
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	argv := c.commandLine(name, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.base
	return cmd
}

func chownPostgres(paths ...string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgtest: no postgres user (run make test, which installs Debian's postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Dump returns every row of every table of the public schema of the
// database at url, in PostgreSQL's text form (bytea as hex), one line per
// row prefixed by its table: what a test scans for secrets that must not
// be stored.
func Dump(t testing.TB, url string) []byte {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			out = append(out, table+" "+l+"\n"...)
		}
	}
	return out
}

// Pool opens a pool (one node) on the database at url through
// [pgdb.Open], closed at the end of the test.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgdb.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// ServerPID returns the process id of the server this Cluster started
// (its postmaster, the parent of every backend), or 0 if the Cluster uses
// a server it did not start or the server's pid file cannot be read.
func (c *Cluster) ServerPID() int {
	if c.base == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(c.base, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	return pid
}
