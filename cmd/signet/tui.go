package main

import (
	"fmt"
	"io"
	"strings"
)

// Exit codes shared by every command.
const (
	exitOK = 0
	// exitFailed: the command ran, and its answer is negative (a signature
	// is not valid) or an outside service failed (no time-stamp).
	exitFailed = 1
	// exitUsage: bad arguments or unusable input.
	exitUsage = 2
)

// cliError is an error with the exit code it deserves.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// usageErrorf reports bad arguments or unusable input (exit 2).
func usageErrorf(format string, a ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

// failf reports a failure that is not the input's fault (exit 1).
func failf(format string, a ...any) error {
	return &cliError{code: exitFailed, msg: fmt.Sprintf(format, a...)}
}

// printError writes one line, prefixed "signet: ", lower-case and without
// a final period, whatever the error's own shape.
func printError(w io.Writer, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(w, "signet: %s\n", msg)
}

// exitCode maps an error to an exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if ce, ok := err.(*cliError); ok {
		return ce.code
	}
	return exitFailed
}
