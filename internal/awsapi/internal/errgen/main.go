// Command errgen writes awsapi's errors_gen.go from errors.json (run by `go generate`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/conveyor/conveyor/internal/awsapi/internal/errtable"
)

func main() {
	in := flag.String("in", "errors.json", "the exception table")
	out := flag.String("out", "errors_gen.go", "the Go file to write")
	pkg := flag.String("pkg", "awsapi", "package name of the generated file")
	flag.Parse()
	if err := run(*in, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "errgen:", err)
		os.Exit(1)
	}
}

func run(in, out, pkg string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read table: %w", err)
	}
	src, err := errtable.Generate(pkg, data)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return fmt.Errorf("write generated file: %w", err)
	}
	return nil
}
