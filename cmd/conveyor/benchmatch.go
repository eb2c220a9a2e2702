package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/conveyor/conveyor/pattern"
)

// benchMatch runs `conveyor bench match --patterns FILE --events FILE`: it
// compiles the patterns (one per line) into one pattern.Matcher, matches the
// events (one per line) against it on one goroutine, and prints the
// throughput and how many events each pattern matched.
func benchMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	patternsFile := fs.String("patterns", "", "file with one event pattern per line (required)")
	eventsFile := fs.String("events", "", "file with one JSON event per line (required)")
	minTime := fs.Duration("time", 2*time.Second, "match the events again until this much time has passed")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: conveyor bench match --patterns FILE --events FILE [--time 2s]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *patternsFile == "" || *eventsFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("bench match: --patterns and --events are required")
	}
	patterns, err := readLines(*patternsFile)
	if err != nil {
		return fmt.Errorf("bench match: %w", err)
	}
	events, err := readLines(*eventsFile)
	if err != nil {
		return fmt.Errorf("bench match: %w", err)
	}
	if len(patterns) == 0 || len(events) == 0 {
		return errors.New("bench match: no patterns or no events")
	}

	m := pattern.New(pattern.WithMaxLength(0))
	start := time.Now()
	for i, p := range patterns {
		if err := m.Add(strconv.Itoa(i), p.text); err != nil {
			return fmt.Errorf("bench match: %s line %d: %w", *patternsFile, p.line, err)
		}
	}
	compile := time.Since(start)

	// One pass that counts, outside the timing.
	counts := make([]int, len(patterns))
	var dst []string
	totalBytes := 0
	for _, ev := range events {
		if dst, err = m.AppendMatch(dst[:0], ev.text); err != nil {
			return fmt.Errorf("bench match: %s line %d: %w", *eventsFile, ev.line, err)
		}
		for _, id := range dst {
			i, _ := strconv.Atoi(id)
			counts[i]++
		}
		totalBytes += len(ev.text)
	}

	// Timed passes.
	matched, n := 0, 0
	start = time.Now()
	for time.Since(start) < *minTime || n == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, ev := range events {
			dst, _ = m.AppendMatch(dst[:0], ev.text)
			matched += len(dst)
		}
		n++
	}
	elapsed := time.Since(start)
	perEvent := elapsed / time.Duration(n*len(events))

	fmt.Fprintf(stdout, "patterns:   %d (compiled in %v, %.0f patterns/s)\n", len(patterns), compile.Round(time.Microsecond), float64(len(patterns))/compile.Seconds())
	fmt.Fprintf(stdout, "events:     %d (%d bytes on average), %d passes\n", len(events), totalBytes/len(events), n)
	fmt.Fprintf(stdout, "throughput: %.0f events/s, %v per event, %.1f MB/s (one goroutine)\n",
		float64(n*len(events))/elapsed.Seconds(), perEvent, float64(n*totalBytes)/elapsed.Seconds()/1e6)
	fmt.Fprintf(stdout, "matches:    %.3f per event\n\n", float64(matched)/float64(n*len(events)))
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "line\tmatches\t\tpattern\n")
	for i, p := range patterns {
		text := string(p.text)
		if len(text) > 100 {
			text = text[:97] + "..."
		}
		fmt.Fprintf(tw, "%d\t%d\t\t%s\n", p.line, counts[i], text)
	}
	return tw.Flush()
}

type line struct {
	line int
	text []byte
}

// readLines returns the non-blank lines of a file with their line numbers.
func readLines(path string) ([]line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if t := bytes.TrimSpace(sc.Bytes()); len(t) > 0 {
			out = append(out, line{line: n, text: bytes.Clone(t)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
