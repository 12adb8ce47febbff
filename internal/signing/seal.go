package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/pki/ca"
)

// sealEmail is the address in seal certificates (RFC 2606 .invalid: the
// seal is the platform's, no mailbox answers for it).
const sealEmail = "seal@signet.invalid"

var _ workflow.Completer = (*Sealer)(nil)

// Complete implements workflow.Completer: for each document of e it
// appends the tenant's seal, an approval signature with the tenant's seal
// key and a seal certificate from its issuing CA, then the DSS with the
// validation data of every signature and time-stamp and a document
// time-stamp (PAdES B-LTA), and stores the result in contents. It
// returns the sealed versions by document id. The workflow holds the
// document locks.
func (s *Sealer) Complete(ctx context.Context, e *workflow.Envelope, contents workflow.Contents) (map[string]string, error) {
	signer, certs, err := s.SealKey(ctx, e.Tenant)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(e.Documents))
	for _, d := range e.Documents {
		sum, err := s.sealDocument(ctx, contents, e.Tenant, signer, certs, d.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing: seal document %s: %w", d.DocumentID, err)
		}
		out[d.DocumentID] = sum
	}
	return out, nil
}

// sealDocument seals tenant's content sum. B-LT and B-LTA append to what
// they wrote and read it back, so pades writes to a working file: an
// [pades.Overlay] that reads the document from its content and keeps only
// what the seal appends, in memory. No copy of the document is made,
// in memory or on disk; the new version is stored as the document
// followed by the appended bytes ([workflow.Contents.AppendContent]).
func (s *Sealer) sealDocument(ctx context.Context, contents workflow.Contents, tenant string, signer crypto.Signer, certs []*x509.Certificate, sum string) (string, error) {
	rd, size, err := contents.OpenContent(ctx, tenant, sum)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	f := pades.NewOverlay(rd, size)
	err = pades.Sign(ctx, f, rd, size, pades.Options{
		Signer: signer, Certificates: certs,
		Level: pades.LevelBLTA, Timestamper: s.cfg.Timestamper, ArchiveTimestamper: s.cfg.ArchiveTimestamper, Fetcher: s.cfg.Fetcher,
		Name: certs[0].Subject.CommonName, Reason: "Sealed by Signet on completion",
		Time: s.now(),
	})
	if err != nil {
		return "", err
	}
	if err := f.Check(sum); err != nil {
		return "", err
	}
	name, _, err := contents.AppendContent(ctx, tenant, sum, bytes.NewReader(f.Tail()))
	return name, err
}

// seal returns the tenant's seal key and a current seal certificate for
// it, issuing one when none is cached or it is within a day of expiry.
func (s *Sealer) seal(ctx context.Context, tenant string) (crypto.Signer, *x509.Certificate, error) {
	signer, ref, err := s.cfg.Seal.SealKey(ctx, tenant)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: seal key of tenant %s: %w", tenant, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if c := s.certs[tenant]; c != nil && now.Add(24*time.Hour).Before(c.NotAfter) && samePublicKey(c.PublicKey, signer.Public()) {
		return signer, c, nil
	}
	name := "Signet seal"
	if len(name)+len(tenant)+3 <= 64 {
		name += " (" + tenant + ")"
	}
	c, err := s.cfg.CA.IssueSigner(ctx,
		ca.Identity{Name: name, Email: sealEmail, Tenant: tenant},
		ca.AuthEvidence{Methods: []string{"swk"}, AssuranceLevel: "platform", Time: now},
		signer.Public(), ref)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: seal certificate of tenant %s: %w", tenant, err)
	}
	s.certs[tenant] = c
	return signer, c, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// SealKey returns tenant's seal key with its current seal certificate
// followed by the chain (issuing CA, root): what evidence manifests are
// signed with.
func (s *Sealer) SealKey(ctx context.Context, tenant string) (crypto.Signer, []*x509.Certificate, error) {
	signer, cert, err := s.seal(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	chain, err := caChain(s.cfg.CA, tenant)
	if err != nil {
		return nil, nil, err
	}
	return signer, append([]*x509.Certificate{cert}, chain...), nil
}

// SealPDF returns doc sealed by tenant's seal key at PAdES B-LTA, as
// completed documents are (the certificate of completion is sealed so).
func (s *Sealer) SealPDF(ctx context.Context, tenant string, doc []byte) ([]byte, error) {
	signer, certs, err := s.SealKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	src := bytes.NewReader(doc)
	f := pades.NewOverlay(src, int64(len(doc)))
	err = pades.Sign(ctx, f, src, int64(len(doc)), pades.Options{
		Signer: signer, Certificates: certs,
		Level: pades.LevelBLTA, Timestamper: s.cfg.Timestamper, ArchiveTimestamper: s.cfg.ArchiveTimestamper, Fetcher: s.cfg.Fetcher,
		Name: certs[0].Subject.CommonName, Reason: "Sealed by Signet",
		Time: s.now(),
	})
	if err != nil {
		return nil, fmt.Errorf("signing: seal: %w", err)
	}
	out := make([]byte, 0, len(doc)+len(f.Tail()))
	return append(append(out, doc...), f.Tail()...), nil
}
