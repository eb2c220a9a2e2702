package waitfor_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/waitfor"
)

// fakeT stands in for the test given to waitfor: Fatalf notes the message
// and ends the goroutine, as testing.T's does.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls wait with a fakeT on a goroutine of its own and returns the
// failure message, "" when wait returned.
func run(t *testing.T, wait func(testing.TB)) string {
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(f)
	}()
	<-done
	return f.failed
}

func TestTrueReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		waitfor.True(tb, "three calls", func() bool { calls++; return calls == 3 })
	})
	if msg != "" || calls != 3 {
		t.Errorf("failed %q after %d calls, want success after 3", msg, calls)
	}
}

func TestWithinFailsAfterItsDeadline(t *testing.T) {
	calls := 0
	began := time.Now()
	msg := run(t, func(tb testing.TB) {
		waitfor.Within(tb, 100*time.Millisecond, "the impossible", func() bool { calls++; return false })
	})
	took := time.Since(began)
	if msg != "waited 100ms for the impossible" {
		t.Errorf("message %q", msg)
	}
	if took < 100*time.Millisecond || took > 5*time.Second {
		t.Errorf("failed after %v, want just over 100ms", took)
	}
	// About one call every 10 ms: a pause between calls, and more than one.
	if calls < 2 || calls > 20 {
		t.Errorf("%d calls in %v", calls, took)
	}
}

func TestErrReportsTheLastError(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		waitfor.Err(tb, 50*time.Millisecond, "the queue to drain", func() error {
			calls++
			return fmt.Errorf("%d messages left", 100-calls)
		})
	})
	if want := fmt.Sprintf("waited 50ms for the queue to drain: %d messages left", 100-calls); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	if msg := run(t, func(tb testing.TB) {
		calls = 0
		waitfor.Err(tb, time.Second, "the second call", func() error {
			if calls++; calls < 2 {
				return errors.New("first call")
			}
			return nil
		})
	}); msg != "" {
		t.Errorf("a condition that held failed: %q", msg)
	}
}

// A condition may end the test itself, as t.Fatal does.
func TestConditionMayFailTheTest(t *testing.T) {
	msg := run(t, func(tb testing.TB) {
		waitfor.True(tb, "anything", func() bool { tb.Fatalf("broken"); return true })
	})
	if msg != "broken" {
		t.Errorf("message %q", msg)
	}
}
