package store

import (
	"bytes"
	"testing"
)

// FuzzBatched: the items AppendBatch and appendBatch frame are read back as they were;
// any bytes at all are read without a panic, every "event" a slice of them.
func FuzzBatched(f *testing.F) {
	f.Add([]byte(`{"id":"1"}`), []byte(`{"id":"2"}`), []byte{batchMark, 3, 'a'})
	f.Add([]byte{}, []byte(`x`), []byte{batchMark, 0x80})
	f.Add([]byte(`{}`), []byte(`{}`), []byte{batchMark, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, a, b, raw []byte) {
		events := []Message{{Data: a}, {Data: b}}
		if len(a) > 0 && a[0] != batchMark {
			one := appendBatch(nil, events[:1])
			var got [][]byte
			for ev := range Batched(one) {
				got = append(got, ev)
			}
			if len(got) != 1 || !bytes.Equal(got[0], a) {
				t.Fatalf("one event %q read back as %q", a, got)
			}
		}
		data := appendBatch(nil, events)
		if other := AppendBatch(nil, [][]byte{a, b}); !bytes.Equal(other, data) {
			t.Fatalf("AppendBatch %q, appendBatch %q", other, data)
		}
		if len(data) > 1+len(a)+len(b)+8 {
			t.Fatalf("batch of %d and %d bytes takes %d", len(a), len(b), len(data))
		}
		if !IsBatch(data) {
			t.Fatalf("batch %q not marked as one", data)
		}
		var got [][]byte
		for ev := range Batched(data) {
			got = append(got, ev)
		}
		if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
			t.Fatalf("batch of %q, %q read back as %q", a, b, got)
		}
		n := 0
		for ev := range Batched(raw) {
			if len(ev) > len(raw) {
				t.Fatalf("event of %d bytes from %d", len(ev), len(raw))
			}
			n++
		}
		if n > len(raw)+1 {
			t.Fatalf("%d events from %d bytes", n, len(raw))
		}
	})
}
