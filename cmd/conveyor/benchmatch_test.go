package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBenchMatch(t *testing.T) {
	dir := t.TempDir()
	patterns := filepath.Join(dir, "patterns")
	events := filepath.Join(dir, "events")
	os.WriteFile(patterns, []byte(`{"source":["a"]}

{"detail":{"n":[{"numeric":[">",1]}]}}
`), 0o644)
	os.WriteFile(events, []byte(`{"source":"a","detail":{"n":2}}
{"source":"b","detail":{"n":0}}
{"source":"a"}
`), 0o644)
	var out, errOut bytes.Buffer
	if err := benchMatch(context.Background(), []string{"--patterns", patterns, "--events", events, "--time", "1ms"}, &out, &errOut); err != nil {
		t.Fatalf("benchMatch: %v\n%s", err, errOut.String())
	}
	text := out.String()
	for _, want := range []string{`events/s`, `patterns:   2`, `events:     3`} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// Line 1 matched two events, line 3 one.
	if !regexp.MustCompile(`(?m)^\s*1\s+2\s+\{"source"`).MatchString(text) || !regexp.MustCompile(`(?m)^\s*3\s+1\s+\{"detail"`).MatchString(text) {
		t.Errorf("wrong counts:\n%s", text)
	}

	// Errors: a bad pattern names its line; missing flags.
	os.WriteFile(patterns, []byte("{\"a\":[\"x\"]}\n{\"a\":[]}\n"), 0o644)
	err := benchMatch(context.Background(), []string{"--patterns", patterns, "--events", events}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad pattern: err = %v", err)
	}
	if err := benchMatch(context.Background(), nil, &out, &errOut); err == nil {
		t.Error("no flags: no error")
	}
}
