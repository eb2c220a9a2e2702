package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/conveyor/conveyor/internal/server"
)

// cloudtrailImport runs `conveyor cloudtrail import FILE…`: each CloudTrail
// log file, as AWS writes them to S3 ({"Records":[…]}, gzip-compressed or
// not), is posted to a running Conveyor's import endpoint
// (server.ImportPath, loopback only), which appends the records to the
// audit log as they are — the event history shows them — and with --to-bus
// also puts the management records on the default bus.
func cloudtrailImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conveyor cloudtrail import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint-url", envOr("CONVEYOR_ENDPOINT_URL", "http://127.0.0.1:4010"),
		"URL of the running Conveyor's API, on this machine (env CONVEYOR_ENDPOINT_URL)")
	toBus := fs.Bool("to-bus", false, "also put the management records on the default bus, where rules match them")
	parallel := fs.Int("parallel", 2, "files posted at once: while one import waits for the history's index, the next is read")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: conveyor cloudtrail import [--endpoint-url URL] [--to-bus] [--parallel N] FILE…")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("cloudtrail import: no files")
	}
	if *parallel < 1 {
		return fmt.Errorf("cloudtrail import: --parallel %d: at least one file is posted at a time", *parallel)
	}
	// Files are posted parallel at a time, and their results printed in
	// the order named. A file named again waits for its earlier import, so
	// that the second one finds its records already in the history.
	names := fs.Args()
	type outcome struct {
		res  *server.ImportResult
		err  error
		done chan struct{}
	}
	outs := make([]outcome, len(names))
	// prev[i] is the import file i waits for: the same file's, named
	// before it (-1: none).
	prev := make([]int, len(names))
	last := map[string]int{}
	for i, name := range names {
		outs[i].done = make(chan struct{})
		key, err := filepath.Abs(name)
		if err != nil {
			key = filepath.Clean(name)
		}
		prev[i] = -1
		if j, ok := last[key]; ok {
			prev[i] = j
		}
		last[key] = i
	}
	slots := make(chan struct{}, *parallel)
	go func() {
		for i, name := range names {
			if j := prev[i]; j >= 0 {
				<-outs[j].done
			}
			slots <- struct{}{}
			go func() {
				defer func() { <-slots; close(outs[i].done) }()
				outs[i].res, outs[i].err = importFile(ctx, strings.TrimSuffix(*endpoint, "/"), name, *toBus)
			}()
		}
	}()
	var failed int
	for i, name := range names {
		<-outs[i].done
		res, err := outs[i].res, outs[i].err
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: %d imported, %d already in the history", name, res.Imported, res.Present)
		if *toBus {
			fmt.Fprintf(stdout, ", %d put on the bus", res.ToBus)
		}
		fmt.Fprintf(stdout, ", %d skipped\n", res.SkippedCount)
		for _, s := range res.Skipped {
			fmt.Fprintf(stdout, "  record %d skipped: %s\n", s.Index, s.Reason)
		}
		if more := res.SkippedCount - len(res.Skipped); more > 0 {
			fmt.Fprintf(stdout, "  (and %d more skipped)\n", more)
		}
	}
	if failed > 0 {
		return fmt.Errorf("cloudtrail import: %d of %d files failed", failed, fs.NArg())
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// importFile streams one log file (decompressed on the way when it is
// gzip) to the import endpoint.
func importFile(ctx context.Context, endpoint, name string, toBus bool) (*server.ImportResult, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var body io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	}
	url := endpoint + server.ImportPath
	if toBus {
		url += "?toBus=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signFromEnv(ctx, req, "cloudtrail", "UNSIGNED-PAYLOAD"); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Type != "" {
			return nil, fmt.Errorf("%s: %s", e.Type, e.Message)
		}
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var res server.ImportResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &res, nil
}
