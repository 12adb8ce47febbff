// Command signet signs PDF documents with PAdES signatures and verifies
// them offline.
//
// Usage:
//
//	signet sign [flags] IN.pdf OUT.pdf
//	signet verify [--trust ROOTS.pem] [--json] [--at TIME] [--log-key KEY] FILE.pdf|BUNDLE.zip
//	signet quickstart [--dir DIR]
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
