package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/conveyor/conveyor/internal/explain"
	"github.com/conveyor/conveyor/pattern"
)

// explainCmd runs `conveyor explain`: whether an event matches a pattern (here, no server
// needed), or which rules of a running Conveyor's bus it matches (ConveyorEvents.ExplainEventBus),
// and for each non-match the fields that failed.
func explainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conveyor explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	patternFile := fs.String("pattern", "", "file holding the event pattern (- for standard input)")
	eventFile := fs.String("event", "", "file holding the event (- for standard input; required)")
	bus := fs.String("bus", "", "explain the event against every rule of this bus of a running Conveyor instead of --pattern")
	endpoint := fs.String("endpoint-url", envOr("CONVEYOR_ENDPOINT_URL", "http://127.0.0.1:4010"), "URL of the Conveyor API, with --bus (signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set)")
	asJSON := fs.Bool("json", false, "print the explanation as JSON (the API's answer)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *eventFile == "" || (*patternFile == "") == (*bus == "") || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("explain: give --event and either --pattern or --bus")
	}
	event, err := readArg(*eventFile)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if *bus != "" {
		var out struct {
			Rules []struct {
				Name, State  string
				Result       bool
				Alternatives []explain.Alternative
			}
		}
		if err := callConveyor(ctx, *endpoint, "events", "ConveyorEvents.ExplainEventBus",
			map[string]string{"EventBusName": *bus, "Event": string(event)}, &out); err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		if *asJSON {
			return printJSON(stdout, out)
		}
		if len(out.Rules) == 0 {
			fmt.Fprintf(stdout, "bus %s has no rules with an event pattern\n", *bus)
		}
		for _, r := range out.Rules {
			state := ""
			if r.State != "ENABLED" {
				state = " (" + strings.ToLower(r.State) + ")"
			}
			if r.Result {
				fmt.Fprintf(stdout, "match     %s%s\n", r.Name, state)
				continue
			}
			fmt.Fprintf(stdout, "no match  %s%s\n", r.Name, state)
			writeWhyNot(stdout, "          ", r.Alternatives)
		}
		return nil
	}
	pat, err := readArg(*patternFile)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	e, err := explain.Explain(pat, event)
	if err != nil {
		var ip *pattern.InvalidPatternError
		if errors.As(err, &ip) {
			return fmt.Errorf("explain: %s", ip.Error())
		}
		return fmt.Errorf("explain: %w", err)
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"Result": e.Matched, "Alternatives": e.Alternatives})
	}
	if e.Matched {
		fmt.Fprintln(stdout, "match")
		return nil
	}
	fmt.Fprintln(stdout, "no match")
	writeWhyNot(stdout, "  ", e.Alternatives)
	return nil
}

// writeWhyNot prints the failed fields of each alternative, one per line.
func writeWhyNot(w io.Writer, indent string, alts []explain.Alternative) {
	for i, a := range alts {
		in := indent
		if len(alts) > 1 {
			fmt.Fprintf(w, "%s$or alternative %d of %d:\n", indent, i+1, len(alts))
			in += "  "
		}
		for _, f := range a.Fields {
			if f.Matched {
				continue
			}
			got := "missing"
			if !f.Missing {
				vs := make([]string, len(f.Values))
				for j, v := range f.Values {
					vs[j] = string(v)
				}
				got = "the event has " + strings.Join(vs, ", ")
			}
			fmt.Fprintf(w, "%s%s: wants %s; %s\n", in, f.Path, f.Condition, got)
		}
		if a.Note != "" {
			fmt.Fprintf(w, "%s%s\n", in, a.Note)
		}
	}
}

func readArg(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
