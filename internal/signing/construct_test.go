package signing_test

import (
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/signing"
)

// TestConstruction: the notifier and the sealer are built from the
// configuration alone, the service only over a workflow and a notifier;
// each refuses what it cannot run without, at construction rather than at
// a recipient's request.
func TestConstruction(t *testing.T) {
	e := newEnv(t)
	if _, err := signing.NewNotifier(signing.Config{}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Errorf("NewNotifier without a store: %v", err)
	}
	noMailer := e.cfg
	noMailer.Mailer = nil
	if _, err := signing.NewNotifier(noMailer); err == nil || !strings.Contains(err.Error(), "no mailer") {
		t.Errorf("NewNotifier without a mailer: %v", err)
	}
	noSeal := e.cfg
	noSeal.Seal = nil
	if _, err := signing.NewSealer(noSeal); err == nil || !strings.Contains(err.Error(), "seal keys") {
		t.Errorf("NewSealer without seal keys: %v", err)
	}
	if _, err := signing.New(e.cfg, nil, e.notifier); err == nil {
		t.Error("New without a workflow succeeded")
	}
	if _, err := signing.New(e.cfg, e.wf, nil); err == nil {
		t.Error("New without a notifier succeeded")
	}
	if _, err := signing.New(e.cfg, e.wf, e.notifier); err != nil {
		t.Errorf("New: %v", err)
	}
}
