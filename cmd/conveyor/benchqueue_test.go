package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestBenchQueue runs the queue benchmark briefly: every message sent is
// received and deleted, and the report says so, with each call's time, the
// send → receive latency and the CPU a message costs.
func TestBenchQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	var out, errOut bytes.Buffer
	args := []string{"--duration", "300ms", "--clients", "2", "--data-dir", t.TempDir()}
	if err := benchQueue(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("bench queue: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	text := out.String()
	m := regexp.MustCompile(`sent: +(\d+) messages.*\ndeleted: +(\d+) messages`).FindStringSubmatch(text)
	if m == nil || m[1] == "0" || m[1] != m[2] {
		t.Errorf("report does not show every message deleted:\n%s", text)
	}
	for _, want := range []string{"SendMessageBatch p50", "ReceiveMessage   p50", "DeleteMessageBatch p50", "latency send → receive: p50"} {
		if !strings.Contains(text, want) {
			t.Errorf("report has no %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`cpu per message: server [0-9.]+ µs .* clients [0-9.]+ µs; whole process [0-9.]+ µs`).MatchString(text) {
		t.Errorf("report has no CPU per message:\n%s", text)
	}
}

func TestBenchQueueFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := benchQueue(context.Background(), []string{"--clients", "0"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--clients") {
		t.Errorf("--clients 0: %v", err)
	}
}
