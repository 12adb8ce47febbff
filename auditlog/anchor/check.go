package anchor

import (
	"crypto/x509"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
)

// Checker returns an [auditlog.VerifyOptions] CheckAnchor function:
// RFC 3161 anchors are verified against roots, cosignatures of the
// witnesses in cosigners against their keys (those of other witnesses
// are counted in *unchecked when it is not nil, and pass), and sink
// anchors pass, to be compared with the sink itself ([VerifySink]). An
// unknown kind fails.
func Checker(roots *x509.CertPool, cosigners map[string]CosignerKey, unchecked *int) func(auditlog.Anchor, auditlog.Checkpoint) error {
	return func(a auditlog.Anchor, cp auditlog.Checkpoint) error {
		switch a.Kind {
		case KindRFC3161:
			return VerifyTimestampAnchor(a, cp, roots)
		case KindWitness:
			k, ok := cosigners[a.Name]
			if !ok {
				if unchecked != nil {
					*unchecked++
				}
				return nil
			}
			return VerifyCosignatureAnchor(a, cp, k)
		case KindSink:
			return nil
		}
		return fmt.Errorf("unknown anchor kind %q", a.Kind)
	}
}
