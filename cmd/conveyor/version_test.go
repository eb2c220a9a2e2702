package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// `conveyor version` says what it is; `conveyor <command> --help` prints the
// command's usage and is no error.
func TestVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "conveyor ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("version: %q", out.String())
	}
	for _, cmd := range [][]string{{"serve"}, {"bench", "match"}, {"bench", "citylots"}, {"queue", "redrive"}} {
		var errOut bytes.Buffer
		if err := run(context.Background(), append(cmd, "--help"), io.Discard, &errOut); err != nil {
			t.Errorf("%v --help: %v", cmd, err)
		}
		if !strings.Contains(errOut.String(), "-") {
			t.Errorf("%v --help printed no usage: %q", cmd, errOut.String())
		}
	}
	if err := run(context.Background(), []string{"serve", "--nope"}, io.Discard, io.Discard); err == nil {
		t.Error("a wrong flag was accepted")
	}
}
