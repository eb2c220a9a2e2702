package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/conveyor/conveyor/internal/ctlogs"
)

// benchCloudtrailLogs runs `conveyor bench cloudtrail-logs [-files 100]
// [-records 10000] [-seed 16] DIR`: it writes CloudTrail log files shaped
// like AWS's (see package ctlogs) into DIR, f000.json and on, each five
// minutes of one account's records from a day ago on, for measuring
// `conveyor cloudtrail import`.
func benchCloudtrailLogs(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench cloudtrail-logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	files := fs.Int("files", 100, "number of log files")
	records := fs.Int("records", 10000, "records a file")
	seed := fs.Uint64("seed", 16, "random seed")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: conveyor bench cloudtrail-logs [-files 100] [-records 10000] [-seed 16] DIR\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *files < 1 || *files > 1000 || *records < 1 {
		fs.Usage()
		return errors.New("bench cloudtrail-logs: want one directory, 1 to 1000 files and at least one record a file")
	}
	dir := fs.Arg(0)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench cloudtrail-logs: %w", err)
	}
	r := rand.New(rand.NewPCG(*seed, *seed))
	// Within the event history's retention: from a day ago, on the hour.
	start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour)
	for f := range *files {
		p := filepath.Join(dir, fmt.Sprintf("f%03d.json", f))
		if err := os.WriteFile(p, ctlogs.File(r, f, *records, start.Add(time.Duration(f)*5*time.Minute)), 0o644); err != nil {
			return fmt.Errorf("bench cloudtrail-logs: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %d files of %d records in %s\n", *files, *records, dir)
	return nil
}
