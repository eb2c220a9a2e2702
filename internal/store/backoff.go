package store

import (
	"context"
	"log/slog"
	"time"
)

// The restart policy of every consumer loop (routing, delivery, the audit
// index and forwarder): the pause before a retry starts at backoffMin and
// doubles to backoffMax, and starts over once the loop ran well.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 10 * time.Second
)

// Backoff is the pause before a consumer loop's next retry. The zero value
// is ready.
type Backoff struct{ next time.Duration }

// Wait pauses before a retry and doubles the next pause. It reports false,
// at once, when ctx ends.
func (b *Backoff) Wait(ctx context.Context) bool {
	if b.next == 0 {
		b.next = backoffMin
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, backoffMax)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Reset starts the pauses over: the loop ran well.
func (b *Backoff) Reset() { b.next = 0 }

// Restart runs f until ctx ends, running it again (after a Backoff pause,
// logged at warning level with what f is) whenever it returns. f that ran
// for longer than backoffMax before it failed starts the pauses over.
func Restart(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) {
	var b Backoff
	for ctx.Err() == nil {
		start := time.Now()
		err := f(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > backoffMax {
			b.Reset()
		}
		log.Warn(what+" stopped; restarting", "err", err, "backoff", b.next)
		if !b.Wait(ctx) {
			return
		}
	}
}
