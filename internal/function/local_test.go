package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/function"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// records returns the JSON log records.
func records(t *testing.T, s *syncbuf.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func newInvoker(t *testing.T, cfg function.Config) (*function.Invoker, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Region == "" {
		cfg.Region = "eu-central-1"
	}
	f, err := function.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, logs
}

func job(name string, payload string) *delivery.Job {
	return &delivery.Job{
		Bus: "default", RuleName: "r", RuleARN: "arn:aws:events:eu-central-1:000000000000:rule/r", TargetID: "t",
		TargetARN: "arn:aws:lambda:eu-central-1:000000000000:function:" + name, EventID: "e-1", Attempt: 1,
		Payload: []byte(payload),
	}
}

func fnError(t *testing.T, err error) *delivery.Error {
	t.Helper()
	var te *delivery.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *delivery.Error", err, err)
	}
	return te
}

func TestLocalOutputAndEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, logs := newInvoker(t, function.Config{
		Env: []string{"PATH=" + os.Getenv("PATH"), "GREETING=hello", "AWS_REGION=overridden"},
		Functions: []function.Spec{{Name: "echo", Command: []string{"/bin/sh", "-c",
			`read -r line; echo "$GREETING $line"; echo "from $AWS_REGION" >&2; printf 'no newline'; echo "$CONVEYOR_REQUEST_ID" > "$1/id"`, "sh", dir}}},
	})
	if err := f.Invoke(context.Background(), job("echo", `{"a":1}`)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	idb, err := os.ReadFile(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(idb))
	var lines []string
	finished := false
	for _, r := range records(t, logs) {
		if r["function"] != "echo" || r["request_id"] != id {
			t.Errorf("log record %v lacks function echo and request_id %s", r, id)
		}
		switch r["msg"] {
		case "function output":
			lines = append(lines, r["stream"].(string)+": "+r["line"].(string))
		case "function finished":
			finished = true
		}
	}
	want := []string{"stdout: hello {\"a\":1}", "stderr: from eu-central-1", "stdout: no newline"}
	if len(lines) != 3 || !containsAll(lines, want) {
		t.Errorf("logged output %q, want %q (in any order between streams)", lines, want)
	}
	if !finished {
		t.Error("no 'function finished' record")
	}
}

func containsAll(got, want []string) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestLocalFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.sh") // no #! line, not executable: run by /bin/sh
	if err := os.WriteFile(plain, []byte("echo ran > \"$1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := newInvoker(t, function.Config{Functions: []function.Spec{
		{Name: "exit7", Command: []string{"/bin/sh", "-c", "echo first >&2; echo 'the reason' >&2; exit 7"}},
		{Name: "slow", Command: []string{"/bin/sh", "-c", "sleep 30 & sleep 30; wait"}, Timeout: 200 * time.Millisecond},
		{Name: "absent", Command: []string{filepath.Join(dir, "no-such-program")}},
		{Name: "plain", Command: []string{plain, filepath.Join(dir, "plain.out")}},
		{Name: "ignores-stdin", Command: []string{"/bin/true"}},
	}})
	ctx := context.Background()

	te := fnError(t, f.Invoke(ctx, job("exit7", `{}`)))
	if te.Code != function.CodeFunctionError || !te.Retry || !strings.Contains(te.Message, "exit status 7: the reason") {
		t.Errorf("exit 7: %+v", te)
	}

	start := time.Now()
	te = fnError(t, f.Invoke(ctx, job("slow", `{}`)))
	if te.Code != function.CodeFunctionError || !te.Retry || !strings.Contains(te.Message, "Task timed out after 0.20 seconds") {
		t.Errorf("timeout: %+v", te)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timed-out function took %v to end: its children were not killed", d)
	}

	te = fnError(t, f.Invoke(ctx, job("absent", `{}`)))
	if te.Code != function.CodeFunctionError || !te.Retry || !strings.Contains(te.Message, "could not run") {
		t.Errorf("absent program: %+v", te)
	}

	if err := f.Invoke(ctx, job("plain", `{}`)); err != nil {
		t.Errorf("plain .sh script: %v", err)
	} else if b, _ := os.ReadFile(filepath.Join(dir, "plain.out")); string(b) != "ran\n" {
		t.Errorf("plain .sh script wrote %q", b)
	}

	// A function that does not read its (large) event still succeeds.
	if err := f.Invoke(ctx, job("ignores-stdin", `{"x":"`+strings.Repeat("y", 1<<20)+`"}`)); err != nil {
		t.Errorf("function ignoring stdin: %v", err)
	}

	te = fnError(t, f.Invoke(ctx, job("nowhere", `{}`)))
	if te.Code != delivery.CodeResourceNotFound || te.Retry {
		t.Errorf("unknown function: %+v", te)
	}
	bad := job("x", `{}`)
	bad.TargetARN = "arn:aws:lambda:eu-central-1:000000000000:function:bad/name"
	if te := fnError(t, f.Invoke(ctx, bad)); te.Code != delivery.CodeInvalidParameter || te.Retry {
		t.Errorf("bad ARN: %+v", te)
	}
}

func TestLocalConcurrency(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Each run holds a lock directory while it runs and notes how many
	// lock directories it saw.
	script := `mkdir "$1/lock-$CONVEYOR_REQUEST_ID"; ls -d "$1"/lock-* | wc -l >> "$1/seen"; sleep 0.2; rmdir "$1/lock-$CONVEYOR_REQUEST_ID"`
	f, _ := newInvoker(t, function.Config{Concurrency: 2, Functions: []function.Spec{
		{Name: "busy", Command: []string{"/bin/sh", "-c", script, "sh", dir}},
	}})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() { errs <- f.Invoke(context.Background(), job("busy", `{}`)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Invoke: %v", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "seen"))
	if err != nil {
		t.Fatal(err)
	}
	seen := strings.Fields(string(b))
	if len(seen) != 6 {
		t.Fatalf("seen %q, want 6 runs", seen)
	}
	for _, n := range seen {
		if n != "1" && n != "2" {
			t.Errorf("a run saw %s runs at once, want at most 2", n)
		}
	}

	// With every slot taken, an invocation whose time runs out while
	// waiting fails with THROTTLING, to be retried.
	started := filepath.Join(dir, "hog-started")
	one, _ := newInvoker(t, function.Config{Concurrency: 1, Functions: []function.Spec{
		{Name: "hog", Command: []string{"/bin/sh", "-c", `touch "$1"; sleep 1`, "sh", started}},
	}})
	done := make(chan error, 1)
	go func() { done <- one.Invoke(context.Background(), job("hog", `{}`)) }()
	waitfor.True(t, "the first hog to run", func() bool { _, err := os.Stat(started); return err == nil })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if te := fnError(t, one.Invoke(ctx, job("hog", `{}`))); te.Code != delivery.CodeThrottling || !te.Retry {
		t.Errorf("waiting for a slot: %+v", te)
	}
	if err := <-done; err != nil {
		t.Errorf("first hog: %v", err)
	}
}

func TestNewChecksSpecs(t *testing.T) {
	tests := []struct {
		name  string
		specs []function.Spec
		want  string
	}{
		{"duplicate", []function.Spec{{Name: "a", Command: []string{"x"}}, {Name: "a", Command: []string{"y"}}}, "registered twice"},
		{"bad name", []function.Spec{{Name: "a:b", Command: []string{"x"}}}, "name must be"},
		{"empty command", []function.Spec{{Name: "a"}}, "command is empty"},
		{"timeout over 15 minutes", []function.Spec{{Name: "a", Command: []string{"x"}, Timeout: 16 * time.Minute}}, "over Lambda's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := function.New(function.Config{Functions: tt.specs})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	f, err := function.New(function.Config{Timeout: 2 * time.Minute, Functions: []function.Spec{
		{Name: "a", Command: []string{"x"}}, {Name: "b", Command: []string{"y"}, Timeout: 5 * time.Minute},
	}})
	if err != nil || f.MaxTimeout() != 5*time.Minute || !f.Local("a") || f.Local("c") {
		t.Errorf("New: %v, MaxTimeout %v", err, f.MaxTimeout())
	}
}
