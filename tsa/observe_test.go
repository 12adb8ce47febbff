package tsa

import (
	"context"
	"crypto"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientObserve(t *testing.T) {
	p := newPKI(t)
	bad := serve(t, rewriting(t, p.server(), func(r *Request) { r.Nonce = big.NewInt(1) }))
	good := serve(t, p.server())
	closed := httptest.NewServer(p.server())
	closed.Close()
	type seen struct {
		url    string
		failed bool
		ctxOK  bool
	}
	type key struct{}
	var got []seen
	c := &Client{URLs: []string{closed.URL, bad, good, bad}, Roots: p.rootPool, Policy: testPolicy, Now: func() time.Time { return testNow },
		Observe: func(ctx context.Context, url string) (context.Context, func(error)) {
			ctx = context.WithValue(ctx, key{}, url)
			return ctx, func(err error) { got = append(got, seen{url, err != nil, ctx.Value(key{}) == url}) }
		}}
	if _, err := c.Timestamp(context.Background(), crypto.SHA256, digestOf(crypto.SHA256, "observed")); err != nil {
		t.Fatal(err)
	}
	want := []seen{{closed.URL, true, true}, {bad, true, true}, {good, false, true}}
	if len(got) != len(want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("exchange %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
