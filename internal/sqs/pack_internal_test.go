package sqs

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A pack's message IDs name their stream message and place, are never a
// stream sequence, and sort as the stream holds them.
func TestPackIDs(t *testing.T) {
	for _, seq := range []uint64{1, 2, 1000, 1 << 40, 1<<57 - 1} {
		for _, slot := range []int{0, 1, maxPack - 1} {
			id := packID(seq, slot)
			if streamSeq(id) != seq || packSlot(id) != slot || id&packBit == 0 {
				t.Errorf("packID(%d, %d) = %#x: stream sequence %d, slot %d", seq, slot, id, streamSeq(id), packSlot(id))
			}
		}
		if streamSeq(seq) != seq || packSlot(seq) != 0 {
			t.Errorf("a message alone at %d: stream sequence %d, slot %d", seq, streamSeq(seq), packSlot(seq))
		}
	}
	// The stream's order: 4, the pack at 5 (three messages), 6.
	order := []uint64{4, packID(5, 0), packID(5, 1), packID(5, 2), 6}
	for i, a := range order {
		for j, b := range order {
			if idBefore(a, b) != (i < j) {
				t.Errorf("idBefore(%#x, %#x) = %v", a, b, idBefore(a, b))
			}
		}
	}
	if !idBefore(0, order[0]) {
		t.Error("0 (no peek token) is not before every message")
	}
}

func TestPackable(t *testing.T) {
	body := func(n int) *outgoing { return &outgoing{body: bytes.Repeat([]byte("x"), n), delay: -1} }
	cases := []struct {
		name string
		ms   []*outgoing
		want bool
	}{
		{"one message", []*outgoing{body(10)}, false},
		{"two", []*outgoing{body(10), body(10)}, true},
		{"maxPack", manyOf(maxPack, func() *outgoing { return body(1) }), true},
		{"more than maxPack", manyOf(maxPack+1, func() *outgoing { return body(1) }), false},
		{"too large", []*outgoing{body(maxPackBytes / 2), body(maxPackBytes / 2)}, false},
		{"a delay", []*outgoing{body(1), {body: []byte("x"), delay: 0}}, false},
		{"a group", []*outgoing{body(1), {body: []byte("x"), delay: -1, group: "g"}}, false},
		{"attributes", []*outgoing{body(1), {body: []byte("x"), delay: -1, attrs: map[string]MessageAttributeValue{"a": {}}}}, false},
		{"a header", []*outgoing{body(1), {body: []byte("x"), delay: -1, extra: nats.Header{"X": {"y"}}}}, false},
	}
	for _, c := range cases {
		if got := packable(c.ms); got != c.want {
			t.Errorf("%s: packable = %v, want %v", c.name, got, c.want)
		}
	}
}

func manyOf(n int, f func() *outgoing) []*outgoing {
	ms := make([]*outgoing, n)
	for i := range ms {
		ms[i] = f()
	}
	return ms
}

// A pack's bodies read back as they went in, each from its message ID; a
// message alone is itself; IDs the stream message does not hold are not
// found.
func TestPackRoundTrip(t *testing.T) {
	ms := []*outgoing{{body: []byte(`{"a":1}`)}, {body: []byte(strings.Repeat("é", 300))}, {body: []byte("z")}}
	data := appendPack(nil, ms)
	raw := &jetstream.RawStreamMsg{Sequence: 7, Header: nats.Header{headerPack: {"3"}}, Data: data}
	for i, m := range ms {
		got, err := messageOf(raw, packID(7, i))
		if err != nil || !bytes.Equal(got.Data, m.body) || got.Sequence != packID(7, i) || len(got.Header) != 0 {
			t.Errorf("message %d: %v %v", i, got, err)
		}
	}
	for _, id := range []uint64{packID(7, 3), 7} {
		if _, err := messageOf(raw, id); err != jetstream.ErrMsgNotFound {
			t.Errorf("%#x of a pack of 3: %v, want ErrMsgNotFound", id, err)
		}
	}
	alone := &jetstream.RawStreamMsg{Sequence: 8, Data: []byte("x")}
	if got, err := messageOf(alone, 8); err != nil || got != alone {
		t.Errorf("a message alone: %v %v", got, err)
	}
	if _, err := messageOf(alone, packID(8, 0)); err != jetstream.ErrMsgNotFound {
		t.Errorf("a message alone read as a pack: %v", err)
	}
	for _, bad := range []struct{ n, data string }{{"2", string(data)}, {"0", ""}, {"x", string(data)},
		{"3", string(data[:len(data)-1])}, {"1", "\x00"}, {strconv.Itoa(maxPack + 1), string(data)}} {
		if _, err := unpack(bad.n, []byte(bad.data)); err == nil {
			t.Errorf("unpack(%q, %q) took a malformed pack", bad.n, bad.data)
		}
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add("2", appendPack(nil, []*outgoing{{body: []byte("a")}, {body: []byte("bc")}}))
	f.Add("1", []byte("\x03abc"))
	f.Add("3", []byte{})
	f.Fuzz(func(t *testing.T, n string, data []byte) {
		bodies, err := unpack(n, data)
		if err != nil {
			return
		}
		ms := make([]*outgoing, len(bodies))
		for i, b := range bodies {
			ms[i] = &outgoing{body: b}
		}
		if again := appendPack(nil, ms); !bytes.Equal(again, data) {
			t.Fatalf("%q unpacked and packed again is %q", data, again)
		}
	})
}
