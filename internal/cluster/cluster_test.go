package cluster_test

import (
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/cluster"
	"github.com/signet-pki/signet/internal/cluster/clustertest"
)

// The nodes of one process share one value.

func TestLocalLocks(t *testing.T) {
	clustertest.RunLocks(t, func(t *testing.T, n int) []cluster.Locks {
		l := cluster.NewLocalLocks()
		out := make([]cluster.Locks, n)
		for i := range out {
			out[i] = l
		}
		return out
	})
}

func TestLocalLeases(t *testing.T) {
	clustertest.RunLeases(t, func(t *testing.T, n int) []cluster.Leases {
		l := cluster.NewLocalLeases(cluster.RetryEvery(time.Millisecond))
		out := make([]cluster.Leases, n)
		for i := range out {
			out[i] = l
		}
		return out
	})
}

// TestLocalLocksForgetUnusedKeys: the set holds no entry for a key that
// nobody holds or waits for, so it stays bounded by the keys in use.
func TestLocalLocksForgetUnusedKeys(t *testing.T) {
	l := cluster.NewLocalLocks()
	for _, k := range []string{"a", "b", "c"} {
		unlock, err := l.Lock(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
	}
	if n := cluster.LocalKeys(l); n != 0 {
		t.Fatalf("%d keys kept after every unlock", n)
	}
}

func TestLeaseConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []cluster.LeaseOption
		want cluster.LeaseConfig
	}{
		{"defaults", nil, cluster.LeaseConfig{Retry: cluster.DefaultRetry, Check: cluster.DefaultCheck}},
		{"set", []cluster.LeaseOption{cluster.RetryEvery(time.Second), cluster.CheckEvery(time.Minute)}, cluster.LeaseConfig{Retry: time.Second, Check: time.Minute}},
		{"non-positive keeps the default", []cluster.LeaseOption{cluster.RetryEvery(0), cluster.CheckEvery(-1)}, cluster.LeaseConfig{Retry: cluster.DefaultRetry, Check: cluster.DefaultCheck}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cluster.NewLeaseConfig(tc.opts...); got != tc.want {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
