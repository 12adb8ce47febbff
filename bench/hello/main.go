// Command hello is the floor for the start-up benchmark of BENCHMARKS.md:
// a Go hello-world, built by bench/run.sh with the same `go build` command
// as signet, so `signet --help` can be compared with the cost of starting
// any Go program on the machine.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stdout, "hello, world")
}
