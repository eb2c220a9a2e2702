package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	var b Backoff
	ctx := context.Background()
	for _, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond} {
		if !b.Wait(ctx) || b.next != want {
			t.Fatalf("next pause %v, want %v", b.next, want)
		}
	}
	for range 10 {
		b.next = min(2*b.next, backoffMax)
	}
	if b.next != backoffMax {
		t.Errorf("pause grows past %v: %v", backoffMax, b.next)
	}
	b.Reset()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if b.Wait(cancelled) {
		t.Error("Wait with an ended context")
	}
}

func TestRestart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	Restart(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "test", func(context.Context) error {
		runs++
		if runs == 3 {
			cancel()
		}
		return errors.New("failed")
	})
	if runs != 3 {
		t.Errorf("ran %d times, want 3 (until its context ended)", runs)
	}
}
