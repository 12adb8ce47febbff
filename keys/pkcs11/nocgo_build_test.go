package pkcs11

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestBuildWithoutCgo checks that the package, and the signet command that
// links it, still compile with CGO_ENABLED=0 (the backend then reports
// keys.ErrBackendUnavailable), by running go vet, which type-checks without
// linking.
func TestBuildWithoutCgo(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the toolchain running this test is the one to use
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Fatal("go command not found")
		}
	}
	cmd := exec.Command(gobin, "vet", ".", "../../cmd/signet")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go vet: %v\n%s", err, out)
	}
}
