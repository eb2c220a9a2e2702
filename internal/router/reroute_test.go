package router

import (
	"testing"
	"time"
)

// An event routed again after its jobs could not be stored waits longer each
// time, up to a minute: a full store does not make targets that got the
// event receive it every second.
func TestRerouteDelay(t *testing.T) {
	for _, c := range []struct {
		routed uint64
		want   time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {1 << 40, time.Minute}} {
		if got := rerouteDelay(c.routed); got != c.want {
			t.Errorf("rerouteDelay(%d) = %v, want %v", c.routed, got, c.want)
		}
	}
}
