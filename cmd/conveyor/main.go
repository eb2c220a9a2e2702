// Command conveyor is a self-hosted, AWS-compatible event router and API
// audit trail. `conveyor serve` runs the server; the other subcommands are
// client-side helpers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/conveyor/conveyor/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "conveyor:", err)
		os.Exit(1)
	}
}

// A command is one subcommand: its name words and the function that runs it.
type command struct {
	name  []string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{[]string{"serve"}, "run the server (EventBridge, SQS and CloudTrail APIs on one port)", serve},
		{[]string{"bench", "match"}, "measure the pattern matcher on your own patterns and events", benchMatch},
		{[]string{"bench", "put-events"}, "measure PutEvents → HTTP target throughput and latency", benchPutEvents},
		{[]string{"bench", "queue"}, "measure a queue: clients sending, receiving and deleting batches of ten", benchQueue},
		{[]string{"bench", "citylots"}, "write the citylots data set of the matcher benchmarks", benchCitylots},
		{[]string{"bench", "cloudtrail-logs"}, "write CloudTrail log files shaped like AWS's, to measure `cloudtrail import`", benchCloudtrailLogs},
		{[]string{"cloudtrail", "import"}, "put CloudTrail log files (as AWS writes them) into the event history, or on the bus", cloudtrailImport},
		{[]string{"queue", "redrive"}, "move a dead-letter queue's events back to the targets they failed for", queueRedrive},
		{[]string{"explain"}, "say why an event matches a pattern, or the rules of a bus, or not", explainCmd},
		{[]string{"healthcheck"}, "exit 0 if a running server's /healthz answers 200, 1 if not (the container's probe)", healthcheck},
		{[]string{"version"}, "print the version, commit and build time", version},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, c := range commands() {
		if len(args) >= len(c.name) && equal(args[:len(c.name)], c.name) {
			err := c.run(ctx, args[len(c.name):], stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil // --help: the usage is printed, and asking is no error
			}
			return err
		}
	}
	usage(stderr)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return nil
	}
	return fmt.Errorf("unknown command %q", args)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: conveyor <command> [flags]   (conveyor <command> --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(strings.Join(c.name, " ")))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, strings.Join(c.name, " "), c.usage)
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// version runs `conveyor version`.
func version(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("version: unexpected arguments %q", args)
	}
	fmt.Fprintln(stdout, server.Version())
	return nil
}
