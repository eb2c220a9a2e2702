package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A second `conveyor serve` on a data directory in use exits at once with a
// clear message and a failure status; the first keeps serving.
func TestServeRefusesALockedDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	p := startProc(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	cmd.Env = append(os.Environ(), "CONVEYOR_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("second serve: %v (%v)\n%s", err, ctx.Err(), out)
	}
	if !strings.Contains(string(out), "in use by another process (pid ") || !strings.Contains(string(out), dir) {
		t.Errorf("second serve said:\n%s", out)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the first process after the refusal: /healthz %d", resp.StatusCode)
	}
}
