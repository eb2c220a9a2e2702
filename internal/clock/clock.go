// Package clock is the time Conveyor's parts read: the system's, or, in tests, one that moves
// only when told to (package clocktest).
package clock

import "time"

// Clock tells the time and waits for it.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// System is the system's clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (System) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or returns c, or the system's clock when c is nil (a Config's default).
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
