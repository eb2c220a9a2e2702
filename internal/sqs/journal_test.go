package sqs

import (
	"slices"
	"testing"
)

func TestJournalRecord(t *testing.T) {
	es := []jentry{
		{seq: 1, receives: 1, firstRecv: 1764979200123, visibleAt: 1764979230123},
		{seq: 1 << 40, receives: 0},
		{seq: 7, receives: 1<<31 - 1, firstRecv: -1, visibleAt: 0},
	}
	got, err := parseJournal(appendJournal(nil, es))
	if err != nil || !slices.Equal(got, es) {
		t.Fatalf("parseJournal(appendJournal(%v)) = %v, %v", es, got, err)
	}
	for _, bad := range [][]byte{nil, {}, {2}, {journalVersion, 0}, {journalVersion, 1}, {journalVersion, 1, 1, 1},
		append([]byte{journalVersion, 1}, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0)} {
		if _, err := parseJournal(bad); err == nil {
			t.Errorf("parseJournal(%v) accepted", bad)
		}
	}
}

// FuzzParseJournal: no record panics, and what parses is written back the
// same.
func FuzzParseJournal(f *testing.F) {
	f.Add(appendJournal(nil, []jentry{{seq: 3, receives: 2, firstRecv: 1764979200123, visibleAt: 1764979230123}}))
	f.Add(appendJournal(nil, []jentry{{seq: 9}, {seq: 10}}))
	f.Add([]byte{journalVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := parseJournal(b)
		if err != nil {
			return
		}
		again, err := parseJournal(appendJournal(nil, es))
		if err != nil || !slices.Equal(again, es) {
			t.Fatalf("%v written back parses as %v, %v", es, again, err)
		}
	})
}

// A message the index keeps is read from the index, headers or not (a rule
// target's messages have none).
func TestStoredWithoutHeaders(t *testing.T) {
	q := &queue{subj: "s"}
	g := received{seq: 7, prev: entry{body: []byte("b")}}
	if raw := g.stored(q); raw == nil || string(raw.Data) != "b" || raw.Sequence != 7 {
		t.Fatalf("stored() = %+v, want the kept body", raw)
	}
	if raw := (received{seq: 8}).stored(q); raw != nil {
		t.Fatalf("stored() of a message not kept = %+v, want nil", raw)
	}
}
