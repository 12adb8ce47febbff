package evidence

import (
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/pdf"
)

// CertificateInput is what a certificate of completion says.
type CertificateInput struct {
	Envelope       evidence.Envelope
	Events         []evidence.Event
	Generated      time.Time
	LogOrigin      string
	CheckpointSize int64
}

// WriteCertificate writes the (unsealed) certificate of completion of
// in.Envelope to w. This minimal version stands in until the full
// certificate is merged.
func WriteCertificate(w io.Writer, in CertificateInput) error {
	lines := []string{
		"Envelope " + in.Envelope.ID + " (" + in.Envelope.Status + ")",
		fmt.Sprintf("%d audit events, checkpoint %d of %s", len(in.Events), in.CheckpointSize, in.LogOrigin),
	}
	for _, d := range in.Envelope.Documents {
		lines = append(lines, d.ID+" original "+d.OriginalSHA256, d.ID+" final "+d.FinalSHA256)
	}
	return pdf.WriteSample(w, pdf.SampleOptions{Pages: 1, Title: "Certificate of completion", Lines: lines})
}
