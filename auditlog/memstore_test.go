package auditlog_test

import (
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auditlog.Storage { return auditlog.NewMemStore() })
}

func TestMemStoreTamper(t *testing.T) {
	storetest.RunTamper(t, func(t *testing.T) auditlog.Storage { return auditlog.NewMemStore() }, auditlog.MemTamperer{})
}
