package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/datadir"
	"golang.org/x/mod/sumdb/note"
)

const auditUsage = `Usage:
  signet audit verify [--data DIR | --db URL] [--pubkey KEY] [--checkpoint FILE]
  signet audit proof EVENT_ID [--data DIR | --db URL]
  signet audit verify-receipt RECEIPT --pubkey KEY
  signet audit export --since TIME [--format jsonl] [--data DIR | --db URL]
  signet audit append --type TYPE [--tenant T] [--actor ID] [--data DIR]
`

// defaultOrigin names the audit log in its checkpoints.
const defaultOrigin = datadir.AuditOrigin

func cmdAudit(args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, auditUsage)
		return usageErrorf("audit: missing subcommand")
	}
	sub := map[string]command{
		"verify":         cmdAuditVerify,
		"proof":          cmdAuditProof,
		"verify-receipt": cmdAuditVerifyReceipt,
		"export":         cmdAuditExport,
		"append":         cmdAuditAppend,
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.stdout, auditUsage)
		return nil
	}
	cmd, ok := sub[args[0]]
	if !ok {
		return usageErrorf("audit: unknown subcommand %q (want verify, proof, verify-receipt, export or append)", args[0])
	}
	return cmd(args[1:], env)
}

// storeFlags are the flags that select the audit storage: a data
// directory's audit.db, or a PostgreSQL deployment's database (--db, alias
// --database-url, or the database_url of --config), with --data then
// naming a node's data directory for its audit.pub and pki/root.pem.
type storeFlags struct{ data, db, config string }

func (s *storeFlags) register(fsFlags interface {
	StringVar(*string, string, string, string)
}) {
	fsFlags.StringVar(&s.data, "data", "", "data directory holding audit.db, audit.key and audit.pub")
	fsFlags.StringVar(&s.db, "db", "", "PostgreSQL URL of the audit storage")
	fsFlags.StringVar(&s.db, "database-url", "", "PostgreSQL URL of the deployment (same as --db)")
	fsFlags.StringVar(&s.config, "config", "", "the deployment's configuration file (data_dir, database_url)")
}

// resolve applies --config: its database_url and data_dir fill what the
// flags left unset.
func (s *storeFlags) resolve() error {
	if s.config == "" {
		return nil
	}
	cfg, err := readConfig(s.config)
	if err != nil {
		return err
	}
	if s.db == "" {
		s.db = cfg.DatabaseURL
	}
	if s.data == "" {
		s.data = cfg.DataDir
	}
	s.config = ""
	return nil
}

// open opens the selected storage.
func (s *storeFlags) open(ctx context.Context) (auditlog.Storage, error) {
	if err := s.resolve(); err != nil {
		return nil, err
	}
	switch {
	case s.db != "":
		st, err := auditpostgres.Open(ctx, s.db)
		if err != nil {
			return nil, failf("%v", err)
		}
		return st, nil
	case s.data != "":
		if path := datadir.File(s.data, datadir.AuditDB); !fileExists(path) {
			return nil, usageErrorf("no audit log at %s", path)
		}
		d, err := datadir.Open(s.data, datadir.Options{})
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		st, err := d.AuditStore(ctx)
		if err != nil {
			return nil, failf("%v", err)
		}
		return st, nil
	}
	return nil, usageErrorf("no storage: give --data DIR or --db URL")
}

// loadVerifiers reads note verifier keys given inline or as a file (one
// per line), or from DIR/audit.pub: the current checkpoint key first, then
// keys of earlier versions.
func loadVerifiers(key, data string) ([]note.Verifier, error) {
	if key == "" && data != "" {
		key = datadir.File(data, datadir.AuditPub)
	}
	if key == "" {
		return nil, usageErrorf("no public key: give --pubkey KEY")
	}
	text := key
	if !strings.Contains(key, "+") || fileExists(key) {
		b, err := os.ReadFile(key)
		if err != nil {
			return nil, usageErrorf("public key: %v", err)
		}
		text = string(b)
	}
	vs, err := auditlog.ParseVerifiers(text)
	if err != nil {
		return nil, usageErrorf("public key: %s: %v", key, err)
	}
	return vs, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func cmdAuditVerify(args []string, env *environment) error {
	fs := newFlagSet("audit verify", env)
	var sf storeFlags
	sf.register(fs)
	pubkey := fs.String("pubkey", "", "audit public key (verifier key text or file; default DIR/audit.pub)")
	cpFile := fs.String("checkpoint", "", "a signed checkpoint held outside the storage, to detect rollback")
	sinkDir := fs.String("sink", "", "write-once checkpoint directory to compare with (default DIR/checkpoints when it exists)")
	tsaTrust := fs.String("tsa-trust", "", "PEM roots for the checkpoints' RFC 3161 anchors (default DIR/pki/root.pem when it exists)")
	var witnesses listFlag
	fs.Var(&witnesses, "witness", "witness verifier key (vkey) whose cosignatures to check (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("audit verify: unexpected argument %q", pos[0])
	}
	if err := sf.resolve(); err != nil {
		return err
	}
	vs, err := loadVerifiers(*pubkey, sf.data)
	if err != nil {
		return err
	}
	opts := auditlog.VerifyOptions{Verifier: vs[0], Retired: vs[1:]}
	if *cpFile != "" {
		b, err := os.ReadFile(*cpFile)
		if err != nil {
			return usageErrorf("checkpoint: %v", err)
		}
		th, err := auditlog.ParseCheckpointUnverified(b)
		if err != nil {
			return usageErrorf("checkpoint: %v", err)
		}
		opts.Reference = &auditlog.Checkpoint{Size: th.Size, Note: b}
	}
	ctx := context.Background()
	// A node of a PostgreSQL deployment keeps no write-once copies: its
	// checkpoints are anchored by time-stamps and witnesses.
	if *sinkDir == "" && sf.db == "" && sf.data != "" && fileExists(datadir.File(sf.data, datadir.CheckpointsDir)) {
		*sinkDir = datadir.File(sf.data, datadir.CheckpointsDir)
	}
	var sink *anchor.FileSink
	if *sinkDir != "" {
		sink = &anchor.FileSink{Dir: *sinkDir}
		if latest, err := sink.Latest(ctx); err == nil && opts.Reference == nil {
			opts.Reference = &latest
		}
	}
	if *tsaTrust == "" && sf.data != "" && fileExists(datadir.File(sf.data, datadir.RootCert)) {
		*tsaTrust = datadir.File(sf.data, datadir.RootCert)
	}
	var roots *x509.CertPool
	if *tsaTrust != "" {
		if roots, err = loadPool(*tsaTrust); err != nil {
			return err
		}
	}
	cosigners := map[string]anchor.CosignerKey{}
	for _, w := range witnesses {
		k, err := anchor.ParseCosignerKey(w)
		if err != nil {
			return usageErrorf("--witness: %v", err)
		}
		cosigners[k.Name] = k
	}
	unchecked := 0
	// Sink anchors are compared with the sink itself below.
	opts.CheckAnchor = anchor.Checker(roots, cosigners, &unchecked)
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := auditlog.Verify(ctx, st, opts)
	if err == nil && sink != nil {
		cps, cerr := st.Checkpoints(ctx)
		if cerr != nil {
			return failf("%v", cerr)
		}
		if serr := anchor.VerifySink(ctx, sink, cps); serr != nil {
			return failf("audit log disagrees with the write-once copies in %s: %v", *sinkDir, serr)
		}
	}
	var te *auditlog.TamperError
	if errors.As(err, &te) {
		return failf("audit log tampered: %s at index %d: %s", te.Kind, te.Index, te.Detail)
	}
	if err != nil {
		return failf("%v", err)
	}
	fmt.Fprintf(env.stdout, "audit log OK: %d events, %d checkpoints, %d anchors\n", res.Size, res.Checkpoints, res.Anchors)
	if res.Latest.Size > 0 {
		fmt.Fprintf(env.stdout, "latest checkpoint: %s size %d root %s\n", res.Latest.Origin, res.Latest.Size, res.Latest.Hash)
	}
	if unchecked > 0 {
		fmt.Fprintf(env.stdout, "%d witness cosignatures not checked (no --witness key for them)\n", unchecked)
	}
	if res.Unsigned > 0 {
		fmt.Fprintf(env.stdout, "%d events after the latest checkpoint are not yet signed\n", res.Unsigned)
	}
	return nil
}

func cmdAuditProof(args []string, env *environment) error {
	fs := newFlagSet("audit proof", env)
	var sf storeFlags
	sf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("audit proof: want one EVENT_ID")
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, rec, err := auditlog.ReceiptByID(ctx, st, pos[0])
	if err != nil {
		return failf("%v", err)
	}
	// The leaf rides in the extra line, so the receipt verifies alone: the
	// inclusion proof authenticates it.
	r.Extra = rec.Leaf
	_, err = env.stdout.Write(r.Marshal())
	return err
}

func cmdAuditVerifyReceipt(args []string, env *environment) error {
	fs := newFlagSet("audit verify-receipt", env)
	pubkey := fs.String("pubkey", "", "audit public key (verifier key text or file)")
	leafFile := fs.String("leaf", "", "the event's canonical JSON (default: the receipt's extra data)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("audit verify-receipt: want one RECEIPT file")
	}
	vs, err := loadVerifiers(*pubkey, "")
	if err != nil {
		return err
	}
	text, err := os.ReadFile(pos[0])
	if err != nil {
		return usageErrorf("receipt: %v", err)
	}
	r, err := auditlog.ParseReceipt(text)
	if err != nil {
		return usageErrorf("receipt: %v", err)
	}
	leaf := r.Extra
	if *leafFile != "" {
		if leaf, err = os.ReadFile(*leafFile); err != nil {
			return usageErrorf("leaf: %v", err)
		}
	}
	if leaf == nil {
		return usageErrorf("receipt carries no event: give --leaf FILE")
	}
	var th auditlog.TreeHead
	for _, v := range vs {
		if th, _, err = auditlog.VerifyReceipt(text, v, leaf); err == nil {
			break
		}
	}
	if err != nil {
		return failf("receipt does not verify: %v", err)
	}
	fmt.Fprintf(env.stdout, "receipt OK: event at index %d of %s (tree size %d)\n%s\n", r.Index, th.Origin, th.Size, leaf)
	return nil
}

func cmdAuditExport(args []string, env *environment) error {
	fs := newFlagSet("audit export", env)
	var sf storeFlags
	sf.register(fs)
	since := fs.String("since", "", "export events at or after this RFC 3339 time")
	format := fs.String("format", "jsonl", "output format (jsonl)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("audit export: unexpected argument %q", pos[0])
	}
	if *format != "jsonl" {
		return usageErrorf("audit export: unknown format %q (want jsonl)", *format)
	}
	var from time.Time
	if *since != "" {
		if from, err = time.Parse(time.RFC3339, *since); err != nil {
			return usageErrorf("audit export: --since: %v", err)
		}
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	size, err := st.Size(ctx)
	if err != nil {
		return failf("%v", err)
	}
	w := bufio.NewWriter(env.stdout)
	const chunk = 4096
	for start := int64(0); start < size; start += chunk {
		recs, err := st.Records(ctx, start, min(size, start+chunk))
		if err != nil {
			return failf("%v", err)
		}
		for _, r := range recs {
			if r.Time.Before(from) {
				continue
			}
			line, err := json.Marshal(struct {
				Index int64           `json:"index"`
				Event json.RawMessage `json:"event"`
			}{r.Index, r.Leaf})
			if err != nil {
				return failf("event %d: %v", r.Index, err)
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

func cmdAuditAppend(args []string, env *environment) error {
	fs := newFlagSet("audit append", env)
	data := fs.String("data", "", "data directory (created if needed)")
	typ := fs.String("type", "", "event type, e.g. document.uploaded")
	tenant := fs.String("tenant", "", "tenant")
	actor := fs.String("actor", "", "acting user id (default: the system)")
	email := fs.String("email", "", "acting user's email (sealed; HMAC in the leaf)")
	docHash := fs.String("document", "", "document SHA-256 (hex)")
	origin := fs.String("origin", defaultOrigin, "log origin in checkpoints")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *data == "" || *typ == "" {
		return usageErrorf("audit append: want --data DIR and --type TYPE")
	}
	e := auditlog.Event{Type: auditlog.EventType(*typ), Tenant: *tenant, Outcome: auditlog.OutcomeSuccess,
		Actor:   auditlog.Actor{Kind: auditlog.ActorSystem},
		Subject: auditlog.Subject{DocumentSHA256: *docHash}}
	if *actor != "" {
		e.Actor = auditlog.Actor{Kind: auditlog.ActorUser, ID: *actor, Email: *email}
	}
	if err := e.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	ctx := context.Background()
	l, st, signer, done, err := openAppendLog(ctx, *data, *origin, env)
	if err != nil {
		return err
	}
	defer done()
	pub, err := auditlog.NewPublisher(st, auditlog.PublisherConfig{Origin: *origin, Signer: signer})
	if err != nil {
		return failf("%v", err)
	}
	idx, err := l.Append(ctx, e)
	if err != nil {
		return failf("%v", err)
	}
	cp, err := pub.Publish(ctx)
	if err != nil {
		return failf("%v", err)
	}
	recs, err := st.Records(ctx, idx, idx+1)
	if err != nil || len(recs) != 1 {
		return failf("reading back event %d: %v", idx, err)
	}
	fmt.Fprintf(env.stdout, "appended %s at index %d; checkpoint size %d\n", recs[0].ID, idx, cp.Size)
	return nil
}

// openAppendLog opens data directory dir's audit log for appending and
// returns it with its storage and checkpoint signer, and the function that
// shuts them down. In a service data directory (one with a key store) the
// checkpoint key is the key store's and the log's origin is the
// service's; elsewhere it is the note key file of [datadir.AuditNoteKey],
// created with the verifier key file on first use.
func openAppendLog(ctx context.Context, dir, origin string, env *environment) (*auditlog.Log, auditlog.Storage, note.Signer, func(), error) {
	d, err := openData(location{dir: dir}, env)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*auditlog.Log, auditlog.Storage, note.Signer, func(), error) {
		d.Close()
		return nil, nil, nil, nil, err
	}
	var signer note.Signer
	if d.Has(datadir.KeysDB) {
		if origin != datadir.AuditOrigin {
			return fail(usageErrorf("%s is a service data directory: its log's origin is %s", dir, datadir.AuditOrigin))
		}
		if signer, err = d.CheckpointSigner(ctx); err != nil {
			return fail(dataError(err))
		}
	} else if signer, err = d.NoteCheckpointSigner(origin); err != nil {
		return fail(failf("%v", err))
	}
	l, err := d.AuditLog(ctx)
	if err != nil {
		return fail(dataError(err))
	}
	st, err := d.AuditStore(ctx)
	if err != nil {
		return fail(dataError(err))
	}
	return l, st, signer, func() { d.Close() }, nil
}
