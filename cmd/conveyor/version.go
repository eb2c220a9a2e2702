package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version runs `conveyor version`: the module version, the commit and the
// time it was built from (as the go command recorded them), and Go's version.
func version(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("version: unexpected arguments %q", args)
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "conveyor (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	line := "conveyor " + v
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		line += ", commit " + rev
	}
	if t := settings["vcs.time"]; t != "" {
		line += ", built from a commit of " + t
	}
	return line + ", " + bi.GoVersion
}
