// Package clocktest has a clock.Clock for tests: one that moves only when told to.
package clocktest

import (
	"sync"
	"time"

	"github.com/conveyor/conveyor/internal/clock"
)

var _ clock.Clock = (*Manual)(nil)

// Manual is a clock.Clock that moves only when told to.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced when waiters change
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

// New returns a clock stopped at now.
func New(now time.Time) *Manual {
	return &Manual{now: now, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// After returns a channel that receives the clock's time once the clock has
// been moved d past the present.
func (m *Manual) After(d time.Duration) <-chan time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan time.Time, 1)
	if d <= 0 {
		c <- m.now
		return c
	}
	m.waiters = append(m.waiters, waiter{at: m.now.Add(d), c: c})
	close(m.changed)
	m.changed = make(chan struct{})
	return c
}

// Set moves the clock to t (never backwards) and fires the timers due.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.now) {
		m.now = t
	}
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		if w.at.After(m.now) {
			kept = append(kept, w)
			continue
		}
		w.c <- m.now
	}
	clear(m.waiters[len(kept):])
	m.waiters = kept
}

// Advance moves the clock d forward.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// Waiting reports how many After timers are pending, and a channel closed
// at the next change of that set: a test waits for the code under test to
// arm its timer before moving the clock.
func (m *Manual) Waiting() (int, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waiters), m.changed
}

// NextTimer returns the earliest time a pending After timer fires at, and
// whether there is one.
func (m *Manual) NextTimer() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first time.Time
	for _, w := range m.waiters {
		if first.IsZero() || w.at.Before(first) {
			first = w.at
		}
	}
	return first, !first.IsZero()
}
