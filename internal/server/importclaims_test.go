package server

import (
	"slices"
	"testing"
)

// The claims' rules, one import against another: the first claim wins, a
// record not stored is claimed again, claims end with the import when the
// index has its records (and stay while others run when it has not), and a
// batch meets the records of an import that ran since the batch's own
// import began.
func TestImportClaims(t *testing.T) {
	c := newImportClaims()
	a := c.start("111122223333/us-east-1")
	b := c.start("111122223333/us-east-1")
	other := c.start("444455556666/us-east-1")

	if taken, meets := c.claim(a, []string{"x", "y"}, 100, 200); slices.Contains(taken, true) || meets {
		t.Fatalf("a's first claim: taken %v, meets %v", taken, meets)
	}
	if taken, _ := c.claim(b, []string{"y", "z"}, 100, 200); !slices.Equal(taken, []bool{true, false}) {
		t.Fatalf("b's claim of y (a's) and z: taken %v", taken)
	}
	if taken, _ := c.claim(other, []string{"x"}, 100, 200); taken[0] {
		t.Fatal("a claim of another scope holds")
	}
	// a did not store y: b may.
	c.release(a, "y")
	if taken, _ := c.claim(b, []string{"y"}, 100, 200); taken[0] {
		t.Fatal("y is still a's after a gave it up")
	}
	// a stored x at 150 and ended, indexed: x is free, and b's batches of
	// a time around 150 meet a's records.
	c.stored(a, 150, 150)
	c.end(a, true)
	if taken, meets := c.claim(b, []string{"x"}, 140, 160); taken[0] || !meets {
		t.Fatalf("after a ended: taken %v, meets %v", taken, meets)
	}
	if _, meets := c.claim(b, []string{"w"}, 300, 400); meets {
		t.Fatal("a batch of another time meets a's records")
	}
	// An import that begins after a ended does not meet a's records: they
	// are before its own.
	d := c.start("111122223333/us-east-1")
	if _, meets := c.claim(d, []string{"v"}, 140, 160); meets {
		t.Fatal("an import begun after a ended meets a's records")
	}
	// b ends without its records indexed: its claims stay while d runs.
	c.end(b, false)
	if taken, _ := c.claim(d, []string{"z"}, 100, 200); !taken[0] {
		t.Fatal("z is free while b's records may not be indexed")
	}
	c.end(d, true)
	c.end(other, true)
	if len(c.scopes) != 0 {
		t.Fatalf("%d scopes kept after every import ended", len(c.scopes))
	}
}
