package server

import (
	"slices"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
)

// records are records of eventIDs ids, all of the time t (unix seconds).
func records(t int64, ids ...string) []*audit.Record {
	var out []*audit.Record
	for _, id := range ids {
		out = append(out, &audit.Record{EventID: id, EventTime: time.Unix(t, 0).UTC().Format(audit.TimeFormat)})
	}
	return out
}

// ids lists the eventIDs of recs.
func ids(recs []*audit.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.EventID)
	}
	return out
}

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

	if mine, taken, meets := c.claim(a, append(records(100, "x"), records(200, "y")...)); len(mine) != 2 || len(taken) != 0 || meets {
		t.Fatalf("a's first claim: mine %v, taken %v, meets %v", ids(mine), taken, meets)
	}
	if mine, taken, _ := c.claim(b, append(records(100, "y"), records(200, "z")...)); !slices.Equal(ids(mine), []string{"z"}) || !taken["y"] {
		t.Fatalf("b's claim of y (a's) and z: mine %v, taken %v", ids(mine), taken)
	}
	if _, taken, _ := c.claim(other, records(100, "x")); taken["x"] {
		t.Fatal("a claim of another scope holds")
	}
	// a did not store y: b may.
	c.release(a, "y")
	if _, taken, _ := c.claim(b, records(150, "y")); taken["y"] {
		t.Fatal("y is still a's after a gave it up")
	}
	// a stored x at 150 and ended, indexed: x is free, and b's batches of
	// a time around 150 meet a's records.
	c.stored(a, 150, 150)
	c.end(a, true)
	if _, taken, meets := c.claim(b, append(records(140, "x"), records(160, "x2")...)); taken["x"] || !meets {
		t.Fatalf("after a ended: taken %v, meets %v", taken, meets)
	}
	if _, _, meets := c.claim(b, append(records(300, "w"), records(400, "w2")...)); meets {
		t.Fatal("a batch of another time meets a's records")
	}
	// An import that begins after a ended does not meet a's records: they
	// are before its own.
	d := c.start("111122223333/us-east-1")
	if _, _, meets := c.claim(d, append(records(140, "v"), records(160, "v2")...)); meets {
		t.Fatal("an import begun after a ended meets a's records")
	}
	// b ends without its records indexed: its claims stay while d runs.
	c.end(b, false)
	if _, taken, _ := c.claim(d, records(100, "z")); !taken["z"] {
		t.Fatal("z is free while b's records may not be indexed")
	}
	c.end(d, true)
	c.end(other, true)
	if len(c.scopes) != 0 {
		t.Fatalf("%d scopes kept after every import ended", len(c.scopes))
	}
}
