package auditlog_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/signet-pki/signet/auditlog"
)

func TestLogObserver(t *testing.T) {
	l := newLog(t, auditlog.NewMemStore(), auditlog.Config{})
	type seen struct {
		typ    auditlog.EventType
		failed bool
	}
	var got []seen
	l.SetObserver(func(ctx context.Context, e auditlog.Event) (context.Context, func(error)) {
		return ctx, func(err error) { got = append(got, seen{e.Type, err != nil}) }
	})
	ctx := context.Background()
	if _, err := l.Append(ctx, event(1)); err != nil {
		t.Fatal(err)
	}
	bad := event(2)
	bad.Type = "no.such-event"
	if _, err := l.Append(ctx, bad); err == nil {
		t.Fatal("an unknown event type was appended")
	}
	l.SetObserver(nil)
	if _, err := l.Append(ctx, event(3)); err != nil {
		t.Fatal(err)
	}
	want := []seen{{auditlog.SignatureCreated, false}, {"no.such-event", true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("observed %v, want %v", got, want)
	}
}

// TestJoinObservers: each observer is told, in turn, with the contexts
// chained; the outcome reaches every one; nil ones are skipped.
func TestJoinObservers(t *testing.T) {
	type key struct{}
	var order []string
	mk := func(name string) auditlog.Observer {
		return func(ctx context.Context, e auditlog.Event) (context.Context, func(error)) {
			order = append(order, name+" start "+fmt.Sprint(ctx.Value(key{})))
			return context.WithValue(ctx, key{}, name), func(err error) {
				order = append(order, name+" done "+fmt.Sprint(err != nil))
			}
		}
	}
	if auditlog.JoinObservers(nil, nil) != nil {
		t.Fatal("nothing joined is not nil")
	}
	l := newLog(t, auditlog.NewMemStore(), auditlog.Config{})
	l.SetObserver(auditlog.JoinObservers(mk("a"), nil, mk("b")))
	if _, err := l.Append(context.Background(), event(1)); err != nil {
		t.Fatal(err)
	}
	want := []string{"a start <nil>", "b start a", "b done false", "a done false"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
}
