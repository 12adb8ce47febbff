package signing_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the request logger: refused requests are expected
// here and asserted on, not logged.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
