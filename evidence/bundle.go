// Package evidence is the evidence bundle of an envelope: one ZIP file
// that lets anyone check, offline and without trusting Signet's server,
// who signed what, when, and that nothing changed afterwards.
//
// A bundle holds the envelope's documents (each original and its final,
// sealed version), the certificate of completion, every audit event of
// the envelope with its inclusion proof, the signed checkpoint those
// proofs lead to with its anchors and a consistency proof to the latest
// checkpoint, the validation data of every signature (certificates,
// OCSP responses, CRLs, time-stamp tokens), a README for checking each
// part by hand, and a manifest of every file's SHA-256 signed by the
// tenant's seal key and time-stamped (CAdES-T, detached).
//
// [Write] writes a bundle from its files; the service gathers them
// (internal/evidence). [Verify] checks a bundle offline.
package evidence

import (
	"context"
	"time"
)

// Format is the manifest's "format" member.
const Format = "signet-evidence/v1"

// Paths inside a bundle. Directories end with a slash; the files under
// them are named as documented on each.
const (
	// PathReadme is the plain-language guide to checking the bundle by hand.
	PathReadme = "README.txt"
	// PathManifest is the manifest: [Manifest] as JSON.
	PathManifest = "manifest.json"
	// PathManifestSignature is the DER CMS SignedData over the manifest's
	// bytes (detached content), by the tenant's seal key, with its
	// certificate chain and a signature time-stamp token (CAdES-T).
	PathManifestSignature = "manifest.p7s"
	// PathEnvelope is the envelope's facts: [Envelope] as JSON.
	PathEnvelope = "envelope.json"
	// PathCertificate is the certificate of completion, a PDF sealed at
	// PAdES B-LTA by the tenant's seal key.
	PathCertificate = "certificate-of-completion.pdf"
	// PathDocuments holds, for each document, "<document id>/original.pdf"
	// (the version uploaded) and "<document id>/final.pdf" (the latest
	// version: signed, sealed, and archive time-stamped since).
	PathDocuments = "documents/"
	// PathEvents holds, for each audit event of the envelope at log index
	// N, "N.json" (the leaf: the exact bytes the Merkle tree commits to,
	// RFC 6962 leaf hash SHA-256(0x00 ‖ bytes)) and "N.tlog-proof" (its
	// inclusion proof to the bundle's checkpoint in c2sp.org/tlog-proof@v1
	// form, the checkpoint included).
	PathEvents = "audit/events/"
	// PathCheckpoint is the signed checkpoint (C2SP signed note) that every
	// event's inclusion proof leads to.
	PathCheckpoint = "audit/checkpoint"
	// PathAnchors holds the checkpoint's anchors: "N.tst" (DER RFC 3161
	// time-stamp token over the checkpoint's body), "N.cosignature" (a
	// witness cosignature line), "N.sink" (a write-once sink's locator),
	// and PathAnchorIndex.
	PathAnchors = "audit/anchors/"
	// PathAnchorIndex lists the anchors: [][AnchorEntry] as JSON.
	PathAnchorIndex = "audit/anchors/index.json"
	// PathLatestCheckpoint is the latest checkpoint when the bundle was
	// made; PathConsistency proves that it extends PathCheckpoint.
	PathLatestCheckpoint = "audit/latest-checkpoint"
	// PathConsistency is the RFC 6962 consistency proof from the bundle's
	// checkpoint to the latest one: one base64 hash per line.
	PathConsistency = "audit/consistency-proof"
	// PathLogKey is the audit log's checkpoint verifier key (a note
	// verifier key, one line).
	PathLogKey = "audit/log.vkey"
	// PathValidation holds the validation data found in the PDFs and the
	// manifest signature, for checking by hand: "certs/<sha256>.pem",
	// "ocsp/<sha256>.der", "crl/<sha256>.crl", "timestamps/<sha256>.tst".
	PathValidation = "validation/"
	// PathRoot is the root certificate the tenant's chains lead to: a
	// hint. A verifier trusts the roots it is given, not this file.
	PathRoot = "trust/root.pem"
)

// A Manifest lists every file of a bundle but the manifest and its
// signature, in the order written.
type Manifest struct {
	Format     string    `json:"format"`
	EnvelopeID string    `json:"envelope_id"`
	Tenant     string    `json:"tenant"`
	Created    time.Time `json:"created"`
	Files      []Entry   `json:"files"`
}

// An Entry is one file of a manifest.
type Entry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// An AnchorEntry describes one anchor file of a bundle.
type AnchorEntry struct {
	// File is the file's name under [PathAnchors].
	File string `json:"file"`
	// Kind is "rfc3161", "witness" or "sink".
	Kind string `json:"kind"`
	// Name names the authority, witness or sink.
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// Envelope is what the envelope's record says, as of the bundle's
// making: the account the events tell.
type Envelope struct {
	ID          string      `json:"id"`
	Tenant      string      `json:"tenant"`
	Subject     string      `json:"subject,omitempty"`
	Status      string      `json:"status"`
	Sender      string      `json:"sender,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	SentAt      *time.Time  `json:"sent_at,omitempty"`
	CompletedAt *time.Time  `json:"completed_at,omitempty"`
	Documents   []Document  `json:"documents"`
	Recipients  []Recipient `json:"recipients"`
	// Transitions are the envelope's state changes, each naming the
	// audit event recorded for it.
	Transitions []Transition `json:"transitions"`
}

// A Document is one document of an envelope.
type Document struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// OriginalSHA256 is the hex SHA-256 of the uploaded version;
	// FinalSHA256 that of the latest version.
	OriginalSHA256 string `json:"original_sha256"`
	FinalSHA256    string `json:"final_sha256"`
}

// A Recipient is one recipient of an envelope.
type Recipient struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role"`
	Order  int    `json:"order"`
	Auth   string `json:"auth,omitempty"`
	Status string `json:"status"`
	// Times of the recipient's steps; nil when not taken.
	ConsentedAt *time.Time `json:"consented_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	DeclinedAt  *time.Time `json:"declined_at,omitempty"`
}

// A Transition is one state change of an envelope.
type Transition struct {
	From         string    `json:"from"`
	To           string    `json:"to"`
	Action       string    `json:"action"`
	ActorKind    string    `json:"actor_kind"`
	ActorID      string    `json:"actor_id,omitempty"`
	At           time.Time `json:"at"`
	AuditEventID string    `json:"audit_event_id"`
}

// A File is one file to write into a bundle.
type File struct {
	// Path is the file's path in the bundle (see the Path constants).
	Path string
	// Data is the file's content when small; Open, when set, streams it
	// instead (documents).
	Data []byte
	Open func(ctx context.Context) (ReadCloser, error)
}

// A ReadCloser is a file's content being read.
type ReadCloser interface {
	Read(p []byte) (int, error)
	Close() error
}

// A ManifestSigner signs a manifest's bytes: it returns the DER CMS
// SignedData written to [PathManifestSignature] (detached content, the
// signer's certificate chain, a signature time-stamp token).
type ManifestSigner interface {
	SignManifest(ctx context.Context, manifest []byte) ([]byte, error)
}
