package store

import (
	"encoding/binary"
	"iter"
)

// A bus message holds one event or several. PutEvents stores the accepted
// entries of a call that go to one bus as one message: one write, one
// acknowledgement and one delivery to the router instead of one each per
// entry. An event is a JSON object, so a message of one event begins with
// '{'; a message of several begins with batchMark, then holds each event as
// its length (unsigned varint) followed by its bytes.
const batchMark = 0x1e // ASCII record separator: never the start of JSON

// appendBatch appends the message holding events to dst: the event itself
// when there is one, else the batch.
func appendBatch(dst []byte, events []Message) []byte {
	if len(events) == 1 {
		return append(dst, events[0].Data...)
	}
	dst = append(dst, batchMark)
	for _, e := range events {
		dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
		dst = append(dst, e.Data...)
	}
	return dst
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// BusEvents yields the events that bus message data holds, in the order
// they were put. The events are slices of data. A batch whose framing is
// damaged yields what is left of it as one last "event", which the reader
// then finds is not JSON.
func BusEvents(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if len(data) == 0 || data[0] != batchMark {
			yield(data)
			return
		}
		rest := data[1:]
		for len(rest) > 0 {
			n, w := binary.Uvarint(rest)
			if w <= 0 || n > uint64(len(rest)-w) {
				yield(rest)
				return
			}
			if !yield(rest[w : w+int(n)]) {
				return
			}
			rest = rest[w+int(n):]
		}
	}
}

// IsBatch reports whether bus message data holds several events.
func IsBatch(data []byte) bool { return len(data) > 0 && data[0] == batchMark }
