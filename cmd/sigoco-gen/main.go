// Command sigoco-gen writes the parameter names and doc comments of rpc
// targets into a Go file, so that an rpc server lists them and binds keyword
// arguments by name. Go's reflection knows a method's parameter types but not
// their names or comments; this generator reads them from the source.
//
// Put a directive beside the target type and run `go generate`:
//
//	//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Attenuator
//
// It reads the non-test Go files of the current directory (the package of
// $GOFILE) and writes rpcdoc_gen.go (see -output) with one rpc.RegisterDoc
// call per type. Exit status: 0 on success, 2 on a usage error, 1 when the
// source cannot be read or a type is not found.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	types := flag.String("type", "", "comma-separated names of the target types (required)")
	output := flag.String("output", "rpcdoc_gen.go", "file to write, relative to -dir")
	dir := flag.String("dir", ".", "package directory to read")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: sigoco-gen -type T[,T2...] [-output FILE] [-dir DIR]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *types == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	src, err := generate(*dir, strings.Split(*types, ","), *output)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sigoco-gen: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(joinPath(*dir, *output), src, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "sigoco-gen: %v\n", err)
		os.Exit(1)
	}
}
