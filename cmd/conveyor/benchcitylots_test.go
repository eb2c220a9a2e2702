package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bench citylots writes n GeoJSON features, one a line, the same for the
// same seed and different for another.
func TestBenchCitylots(t *testing.T) {
	gen := func(args ...string) string {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"bench", "citylots"}, args...), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	a := gen("-n", "1000")
	lines := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	for i, l := range lines {
		var f struct {
			Type       string
			Properties struct{ MAPBLKLOT string }
			Geometry   struct{ Coordinates [][][3]float64 }
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if f.Type != "Feature" || f.Properties.MAPBLKLOT == "" || len(f.Geometry.Coordinates) != 1 || len(f.Geometry.Coordinates[0]) < 5 {
			t.Fatalf("line %d: %s", i+1, l)
		}
	}
	if gen("-n", "1000") != a {
		t.Error("the same seed gave another data set")
	}
	if gen("-n", "1000", "-seed", "2") == a {
		t.Error("another seed gave the same data set")
	}
	if err := run(context.Background(), []string{"bench", "citylots", "extra"}, io.Discard, io.Discard); err == nil {
		t.Error("an extra argument was accepted")
	}
}

// bench cloudtrail-logs writes log files that `cloudtrail import` reads:
// {"Records":[…]} of the records asked for, each with an eventID of its own.
func TestBenchCloudtrailLogs(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"bench", "cloudtrail-logs", "-files", "3", "-records", "50", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, name := range []string{"f000.json", "f001.json", "f002.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Records []struct{ EventID, EventTime, EventSource string }
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f.Records) != 50 {
			t.Fatalf("%s: %d records", name, len(f.Records))
		}
		for _, r := range f.Records {
			if r.EventID == "" || r.EventTime == "" || r.EventSource == "" || ids[r.EventID] {
				t.Fatalf("%s: record %+v", name, r)
			}
			ids[r.EventID] = true
		}
	}
	if err := run(context.Background(), []string{"bench", "cloudtrail-logs", "-files", "0", dir}, io.Discard, io.Discard); err == nil {
		t.Fatal("no files: no error")
	}
}
