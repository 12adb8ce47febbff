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

// TestMemStoreWriters: two logs (nodes) appending to one MemStore.
func TestMemStoreWriters(t *testing.T) {
	storetest.RunWriters(t, func(t *testing.T, n int) []auditlog.Storage {
		s := auditlog.NewMemStore()
		out := make([]auditlog.Storage, n)
		for i := range out {
			out[i] = s
		}
		return out
	})
}

func TestMemStoreLocking(t *testing.T) {
	storetest.RunLocking(t, func(t *testing.T) auditlog.LockingStorage { return auditlog.NewMemStore() })
}
