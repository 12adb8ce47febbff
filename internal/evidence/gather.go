package evidence

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// disclosed are the sealed clear values of events that the certificate
// of completion shows; free text (reasons) stays sealed.
var disclosed = []string{"actor.email", "actor.name", "subject.recipient_email", "request.ip"}

// maxEvents bounds the events of one bundle (held in memory with their
// proofs while it is made: a few KB each). An envelope's own events are
// a few per recipient and reminder; this is far beyond any.
const maxEvents = 100_000

// gathering is one bundle being gathered.
type gathering struct {
	s     *Service
	ctx   context.Context
	env   *workflow.Envelope
	now   time.Time
	facts evidence.Envelope
	// sealCerts are the tenant's seal certificate and chain.
	sealCerts []*x509.Certificate

	records []auditlog.Record
	// cp is the checkpoint the events' proofs lead to; latest the latest
	// stored one.
	cp, latest auditlog.Checkpoint
	head       auditlog.TreeHead
	anchors    []auditlog.Anchor
}

// audit reads the envelope's events and picks the checkpoint: the first
// stored one that covers the last event and has at least one anchor.
func (g *gathering) audit() error {
	recs, err := g.s.cfg.Audit.EnvelopeRecords(g.ctx, g.env.Tenant, g.env.ID)
	if err != nil {
		return fmt.Errorf("evidence: the envelope's audit events: %w", err)
	}
	for _, r := range recs {
		// The store answered for this tenant and envelope; each leaf is
		// checked again, since nothing of another may enter the bundle.
		env, err := auditlog.LeafEnvelope(r.Leaf)
		if err != nil {
			return fmt.Errorf("evidence: audit event %d: %w", r.Index, err)
		}
		h, err := auditlog.ParseLeafHeader(r.Leaf)
		if err != nil {
			return fmt.Errorf("evidence: audit event %d: %w", r.Index, err)
		}
		if env != g.env.ID || r.Tenant != g.env.Tenant || h.Tenant != g.env.Tenant || h.Index != r.Index {
			return fmt.Errorf("evidence: the audit store returned event %d, which is not of envelope %s", r.Index, g.env.ID)
		}
	}
	slices.SortFunc(recs, func(a, b auditlog.Record) int { return int(a.Index - b.Index) })
	if len(recs) == 0 {
		return &api.Error{Kind: api.KindConflict, Detail: "the envelope has no audit events yet"}
	}
	if len(recs) > maxEvents {
		return &api.Error{Kind: api.KindConflict, Detail: fmt.Sprintf("the envelope has %d audit events, more than a bundle holds (%d)", len(recs), maxEvents)}
	}
	// The last event of the envelope's story decides the checkpoint;
	// exports of its evidence recorded since (audit.exported) wait for a
	// later bundle, so that downloading twice does not wait for the log.
	last := recs[len(recs)-1].Index
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type != string(auditlog.AuditExported) {
			last = recs[i].Index
			break
		}
	}
	cps, err := g.s.cfg.Audit.Checkpoints(g.ctx)
	if err != nil {
		return fmt.Errorf("evidence: checkpoints: %w", err)
	}
	cp, anchors, found, err := auditlog.FirstAnchored(g.ctx, g.s.cfg.Audit, cps, last)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if !found {
		return &api.RetryAfterError{Seconds: retryPending, Err: ErrCheckpointPending}
	}
	g.cp, g.anchors = cp, anchors
	for _, r := range recs {
		if r.Index < g.cp.Size {
			g.records = append(g.records, r)
		}
	}
	g.latest = cps[len(cps)-1]
	return nil
}

// files returns every file of the bundle, in the manifest's order.
func (g *gathering) files() ([]evidence.File, error) {
	var files []evidence.File
	add := func(p string, data []byte) { files = append(files, evidence.File{Path: p, Data: data}) }

	vkey, err := g.logKey()
	if err != nil {
		return nil, err
	}
	facts, err := json.MarshalIndent(g.facts, "", "  ")
	if err != nil {
		return nil, err
	}
	events, err := g.events()
	if err != nil {
		return nil, err
	}
	docs, val, err := g.documents()
	if err != nil {
		return nil, err
	}
	var cert []byte
	if g.env.Status == workflow.StatusCompleted {
		if cert, err = g.certificate(events); err != nil {
			return nil, err
		}
		if err := val.add(cert); err != nil {
			return nil, fmt.Errorf("evidence: validation data of the certificate of completion: %w", err)
		}
	}
	for _, c := range g.sealCerts {
		val.cert(c)
	}
	add(evidence.PathReadme, g.readme(len(cert) > 0, val))
	add(evidence.PathEnvelope, append(facts, '\n'))
	files = append(files, docs...)
	if cert != nil {
		add(evidence.PathCertificate, cert)
	}
	add(evidence.PathLogKey, []byte(vkey+"\n"))
	add(evidence.PathCheckpoint, g.cp.Note)
	for _, r := range g.records {
		n := strconv.FormatInt(r.Index, 10)
		add(evidence.PathEvents+n+".json", r.Leaf)
		add(evidence.PathEvents+n+".tlog-proof", events[r.Index].proof)
	}
	anchors, err := g.anchorFiles()
	if err != nil {
		return nil, err
	}
	files = append(files, anchors...)
	proof, err := g.consistency()
	if err != nil {
		return nil, err
	}
	add(evidence.PathLatestCheckpoint, g.latest.Note)
	add(evidence.PathConsistency, proof)
	files = append(files, val.files()...)
	add(evidence.PathRoot, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.s.cfg.Root.Raw}))
	return files, nil
}

// logKey returns the verifier key that opens the bundle's checkpoint.
func (g *gathering) logKey() (string, error) {
	text, err := g.s.cfg.LogKeys(g.ctx)
	if err != nil {
		return "", fmt.Errorf("evidence: audit log keys: %w", err)
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		v, err := note.NewVerifier(line)
		if err != nil {
			continue
		}
		head, err := auditlog.OpenCheckpoint(g.cp.Note, v, v.Name())
		if err == nil {
			g.head = head
			return line, nil
		}
	}
	return "", fmt.Errorf("evidence: no audit log key verifies checkpoint %d", g.cp.Size)
}

// event is one of the envelope's events: its receipt and what it says.
type event struct {
	proof []byte
	ev    evidence.Event
}

// events proves every event against the checkpoint (checking each proof
// before it goes into the bundle) and opens their sealed values.
func (g *gathering) events() (map[int64]event, error) {
	hr := g.hashReader()
	out := make(map[int64]event, len(g.records))
	for _, r := range g.records {
		p, err := tlog.ProveRecord(g.cp.Size, r.Index, hr)
		if err != nil {
			return nil, fmt.Errorf("evidence: inclusion proof of event %d: %w", r.Index, err)
		}
		if err := tlog.CheckRecord(p, g.cp.Size, g.head.Hash, r.Index, tlog.RecordHash(r.Leaf)); err != nil {
			return nil, fmt.Errorf("evidence: event %d is not in checkpoint %d: %w", r.Index, g.cp.Size, err)
		}
		ev, err := evidence.ParseEvent(r.Leaf)
		if err != nil {
			return nil, err
		}
		clear, err := auditlog.Unseal(g.ctx, g.s.cfg.AuditKeys, r)
		switch {
		case errors.Is(err, auditlog.ErrKeyDestroyed):
			// Crypto-shredded: the leaf still proves what happened.
		case err != nil:
			return nil, fmt.Errorf("evidence: event %d: %w", r.Index, err)
		default:
			for _, k := range disclosed {
				if v, ok := clear[k]; ok {
					if ev.Disclosed == nil {
						ev.Disclosed = map[string]string{}
					}
					ev.Disclosed[k] = v
				}
			}
		}
		out[r.Index] = event{proof: (&auditlog.Receipt{Index: r.Index, Proof: p, Checkpoint: g.cp.Note}).Marshal(), ev: ev}
	}
	return out, nil
}

func (g *gathering) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return g.s.cfg.Audit.ReadHashes(g.ctx, idx)
	})
}

// consistency proves that the latest checkpoint extends the bundle's:
// one base64 hash per line (none when they are the same).
func (g *gathering) consistency() ([]byte, error) {
	if g.latest.Size == g.cp.Size {
		return []byte{}, nil
	}
	p, err := tlog.ProveTree(g.latest.Size, g.cp.Size, g.hashReader())
	if err != nil {
		return nil, fmt.Errorf("evidence: consistency proof %d→%d: %w", g.cp.Size, g.latest.Size, err)
	}
	var b bytes.Buffer
	for _, h := range p {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	return b.Bytes(), nil
}

// anchorFiles are the checkpoint's anchors and their index.
func (g *gathering) anchorFiles() ([]evidence.File, error) {
	var files []evidence.File
	var index []evidence.AnchorEntry
	for i, a := range g.anchors {
		var ext string
		switch a.Kind {
		case anchor.KindRFC3161:
			ext = ".tst"
		case anchor.KindWitness:
			ext = ".cosignature"
		case anchor.KindSink:
			ext = ".sink"
		default:
			return nil, fmt.Errorf("evidence: checkpoint %d has an anchor of unknown kind %q", g.cp.Size, a.Kind)
		}
		name := strconv.Itoa(i) + ext
		files = append(files, evidence.File{Path: evidence.PathAnchors + name, Data: a.Data})
		index = append(index, evidence.AnchorEntry{File: name, Kind: a.Kind, Name: a.Name, Time: a.Time.UTC()})
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(files, evidence.File{Path: evidence.PathAnchorIndex, Data: append(b, '\n')}), nil
}

// documents are each document's original and final versions, streamed
// from their sealed contents, and the validation data of the finals.
func (g *gathering) documents() ([]evidence.File, *validation, error) {
	val := newValidation()
	var files []evidence.File
	for _, d := range g.env.Documents {
		for _, v := range []struct{ name, sha string }{{"original.pdf", d.OriginalSHA256}, {"final.pdf", d.SHA256}} {
			files = append(files, evidence.File{Path: evidence.PathDocuments + d.DocumentID + "/" + v.name, Open: g.opener(v.sha)})
		}
		rd, size, err := g.s.cfg.Workflow.OpenContent(g.ctx, g.env.Tenant, d.SHA256)
		if err != nil {
			return nil, nil, fmt.Errorf("evidence: document %s: %w", d.DocumentID, err)
		}
		v, err := pades.ValidationData(rd, size)
		rd.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("evidence: validation data of document %s: %w", d.DocumentID, err)
		}
		val.merge(v)
	}
	return files, val, nil
}

func (g *gathering) opener(sha string) func(context.Context) (evidence.ReadCloser, error) {
	return func(ctx context.Context) (evidence.ReadCloser, error) {
		rd, _, err := g.s.cfg.Workflow.OpenContent(ctx, g.env.Tenant, sha)
		return rd, err
	}
}

// certificate writes the certificate of completion and has it sealed.
func (g *gathering) certificate(events map[int64]event) ([]byte, error) {
	in := CertificateInput{Envelope: g.facts, Generated: g.now, LogOrigin: g.head.Origin, CheckpointSize: g.cp.Size}
	for _, r := range g.records {
		in.Events = append(in.Events, events[r.Index].ev)
	}
	var b bytes.Buffer
	if err := WriteCertificate(&b, in); err != nil {
		return nil, fmt.Errorf("evidence: certificate of completion: %w", err)
	}
	sealed, err := g.s.cfg.Sealer.SealPDF(g.ctx, g.env.Tenant, b.Bytes())
	if err != nil {
		return nil, &api.Error{Kind: api.KindUnavailable, Detail: "the certificate of completion could not be sealed", Err: err}
	}
	return sealed, nil
}
