// Command mkpdf writes a valid sample PDF of a chosen size for the Signet
// benchmarks (BENCHMARKS.md). The size comes from per-page padding streams,
// so a 200 MB file is written in one streaming pass.
//
//	go run ./bench/mkpdf -size 200MB -o big.pdf
//	go run ./bench/mkpdf -o small.pdf
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/pdf"
)

func main() {
	out := flag.String("o", "", "output PDF path (required)")
	size := flag.String("size", "0", "approximate file size: a byte count with an optional KB, MB or GB suffix; 0 for a small file of a few KB")
	pages := flag.Int("pages", 4, "number of pages; the padding is spread over them")
	flag.Parse()
	if *out == "" || *pages < 1 {
		fmt.Fprintln(os.Stderr, "mkpdf: usage: mkpdf -o OUT.pdf [-size 200MB] [-pages N]")
		os.Exit(2)
	}
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkpdf: %v\n", err)
		os.Exit(2)
	}
	if err := write(*out, n, *pages); err != nil {
		fmt.Fprintf(os.Stderr, "mkpdf: %v\n", err)
		os.Exit(1)
	}
}

func write(path string, size int64, pages int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	lines := []string{
		"This document was generated for the Signet benchmarks.",
		"Its pages carry padding streams when a large file is asked for.",
	}
	err = pdf.WriteSample(f, pdf.SampleOptions{
		Pages:   pages,
		Title:   "Signet benchmark document",
		Lines:   lines,
		Padding: size / int64(pages),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parseSize reads "200MB", "64KB", "1GB" or a plain byte count (powers of
// 1024).
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
