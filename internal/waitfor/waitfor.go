package waitfor

import (
	"errors"
	"testing"
	"time"
)

// Timeout is how long True waits: long enough for a loaded machine, and
// reached only by a test that is about to fail.
const Timeout = 30 * time.Second

// interval is the pause between two evaluations of a condition.
const interval = 10 * time.Millisecond

// True waits until cond returns true, evaluating it at once and then every
// 10 ms; after Timeout it fails t with "waited 30s for <what>".
func True(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Timeout, what, cond)
}

// Within is True with a deadline of d, for a condition that must hold within
// d for the test to pass.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if poll(d, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}) != nil {
		t.Fatalf("waited %v for %s", d, what)
	}
}

// Err waits up to d until cond returns nil, evaluating it at once and then
// every 10 ms; cond's error says what is still missing, and after d Err
// fails t with "waited <d> for <what>: <cond's last error>".
func Err(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(d, cond); err != nil {
		t.Fatalf("waited %v for %s: %v", d, what, err)
	}
}

var errNotYet = errors.New("not yet")

// poll evaluates cond until it returns nil or d has passed, and returns its
// last error.
func poll(d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}
