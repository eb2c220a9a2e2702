package memlimit_test

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/memlimit"
	"github.com/conveyor/conveyor/internal/waitfor"
)

func TestLimit(t *testing.T) {
	for _, c := range []struct{ target, live, want int64 }{
		{256 << 20, 0, 256 << 20},
		{256 << 20, 100 << 20, 256 << 20},
		{256 << 20, 200 << 20, 256 << 20},
		{256 << 20, 240 << 20, 300 << 20},
	} {
		if got := memlimit.Limit(c.target, c.live); got != c.want {
			t.Errorf("Limit(%d, %d) = %d, want %d", c.target, c.live, got, c.want)
		}
	}
}

// Keep sets the limit while it runs and puts back the one it found.
func TestKeep(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		memlimit.Keep(ctx, 1<<40, 10*time.Millisecond)
	}()
	waitfor.True(t, "the limit set", func() bool { return debug.SetMemoryLimit(-1) == 1<<40 })
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after Keep ended, want %d", got, before)
	}
}
