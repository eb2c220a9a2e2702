// Command modelgen extracts the input constraints of an AWS API model (botocore's
// service-2.json, as the AWS CLI ships it) into the compact model awsapi embeds: for each
// operation its input shape, and for every shape reachable from inputs its members, required
// members, min/max, pattern, enum and sensitivity. Documentation and outputs are dropped.
//
//	go run ./internal/modelgen -in .../botocore/data/events/2015-10-07/service-2.json.gz -service events -out models/events.json
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type ref struct {
	Shape string `json:"shape"`
}

type botoShape struct {
	Type      string          `json:"type"`
	Members   json.RawMessage `json:"members"`
	Required  []string        `json:"required"`
	Member    *ref            `json:"member"`
	Key       *ref            `json:"key"`
	Value     *ref            `json:"value"`
	Min       *float64        `json:"min"`
	Max       *float64        `json:"max"`
	Pattern   string          `json:"pattern"`
	Enum      []string        `json:"enum"`
	Sensitive bool            `json:"sensitive"`
}

type botoModel struct {
	Metadata   map[string]any `json:"metadata"`
	Operations map[string]struct {
		Input *ref `json:"input"`
	} `json:"operations"`
	Shapes map[string]botoShape `json:"shapes"`
}

// Shape is the output form (see awsapi's model.go, which reads it).
type Shape struct {
	Type      string     `json:"type"`
	Members   [][]string `json:"members,omitempty"` // [name, shape] in model order
	Required  []string   `json:"required,omitempty"`
	Member    string     `json:"member,omitempty"`
	Key       string     `json:"key,omitempty"`
	Value     string     `json:"value,omitempty"`
	Min       *float64   `json:"min,omitempty"`
	Max       *float64   `json:"max,omitempty"`
	Pattern   string     `json:"pattern,omitempty"`
	Enum      []string   `json:"enum,omitempty"`
	Sensitive bool       `json:"sensitive,omitempty"`
}

func main() {
	in := flag.String("in", "", "botocore service-2.json(.gz)")
	service := flag.String("service", "", "service name (events, cloudtrail, sqs)")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if err := run(*in, *service, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modelgen:", err)
		os.Exit(1)
	}
}

func run(in, service, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(in, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("gunzip %s: %w", in, err)
		}
		r = gz
	}
	var m botoModel
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return fmt.Errorf("decode %s: %w", in, err)
	}
	ops := map[string]string{}
	shapes := map[string]Shape{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, done := shapes[name]; done || name == "" {
			return nil
		}
		b, ok := m.Shapes[name]
		if !ok {
			return fmt.Errorf("shape %s not in model", name)
		}
		s := Shape{Type: b.Type, Required: b.Required, Min: b.Min, Max: b.Max, Pattern: b.Pattern, Enum: b.Enum, Sensitive: b.Sensitive}
		if b.Member != nil {
			s.Member = b.Member.Shape
		}
		if b.Key != nil {
			s.Key, s.Value = b.Key.Shape, b.Value.Shape
		}
		if len(b.Members) > 0 {
			// Keep the model's member order: decode the object token by token.
			dec := json.NewDecoder(bytes.NewReader(b.Members))
			if _, err := dec.Token(); err != nil {
				return err
			}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return err
				}
				var mr ref
				if err := dec.Decode(&mr); err != nil {
					return err
				}
				s.Members = append(s.Members, []string{tok.(string), mr.Shape})
			}
		}
		shapes[name] = s
		for _, mem := range s.Members {
			if err := visit(mem[1]); err != nil {
				return err
			}
		}
		for _, n := range []string{s.Member, s.Key, s.Value} {
			if err := visit(n); err != nil {
				return err
			}
		}
		return nil
	}
	for name, op := range m.Operations {
		if op.Input == nil {
			continue
		}
		ops[name] = op.Input.Shape
		if err := visit(op.Input.Shape); err != nil {
			return fmt.Errorf("operation %s: %w", name, err)
		}
	}
	return write(out, service, fmt.Sprint(m.Metadata["apiVersion"]), ops, shapes)
}

// write emits sorted JSON with one shape per line, for readable diffs.
func write(out, service, version string, ops map[string]string, shapes map[string]Shape) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\"service\":%q,\"apiVersion\":%q,\n\"operations\":{\n", service, version)
	for i, k := range sortedKeys(ops) {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "%q:%q", k, ops[k])
	}
	b.WriteString("},\n\"shapes\":{\n")
	for i, k := range sortedKeys(shapes) {
		if i > 0 {
			b.WriteString(",\n")
		}
		v, err := json.Marshal(shapes[k])
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%q:%s", k, v)
	}
	b.WriteString("}}\n")
	return os.WriteFile(out, b.Bytes(), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
