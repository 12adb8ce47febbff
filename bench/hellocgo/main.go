//go:build cgo

// Command hellocgo is bench/hello linked as signet is: with the cgo
// runtime, which the PKCS#11 backend (keys/pkcs11) needs, so the binary is
// dynamically linked against the C library and starts its threads through
// it. The start-up benchmark of BENCHMARKS.md times it beside hello and
// `signet --help` to separate that cost from Signet's own.
package main

import (
	"fmt"
	"os"

	_ "runtime/cgo"
)

func main() {
	fmt.Fprintln(os.Stdout, "hello, world")
}
