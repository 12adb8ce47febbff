package memstore

import (
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auditlog.Storage { return New() })
}
