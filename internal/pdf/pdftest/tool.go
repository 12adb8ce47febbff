package pdftest

import (
	"os/exec"
	"strings"
	"testing"
)

// Tool runs an independent checker (qpdf, pdftotext, pdfinfo, pdfsig…)
// and returns its combined output. It fails the test when the tool is
// missing (make test installs every one) or exits with an error.
func Tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; run make test, which installs it", name)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
