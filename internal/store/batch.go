package store

import (
	"encoding/binary"
	"iter"
)

// A message of a bus, or of the audit log, holds one item or several
// stored together. PutEvents stores the accepted entries of a call that go
// to one bus as one message, and an import of CloudTrail log files stores
// its records up to 16 a message: one write, one
// acknowledgement and one delivery to each reader instead of one each per
// item. An item is a JSON object, so a message of one item begins with
// '{'; a message of several begins with batchMark, then holds each item as
// its length (unsigned varint) followed by its bytes.
const batchMark = 0x1e // ASCII record separator: never the start of JSON

// AppendBatch appends the message holding items to dst: the item itself
// when there is one, else the batch: 1 byte, and at most 4 an item
// (items under 256 MiB), more than the items themselves.
func AppendBatch(dst []byte, items [][]byte) []byte {
	return appendBatchOf(dst, items, func(item []byte) []byte { return item })
}

// appendBatch is AppendBatch for a bus's messages.
func appendBatch(dst []byte, events []Message) []byte {
	return appendBatchOf(dst, events, func(e Message) []byte { return e.Data })
}

// appendBatchOf is AppendBatch of the bytes data gives for each item.
func appendBatchOf[T any](dst []byte, items []T, data func(T) []byte) []byte {
	if len(items) == 1 {
		return append(dst, data(items[0])...)
	}
	dst = append(dst, batchMark)
	for _, it := range items {
		dst = appendItem(dst, data(it))
	}
	return dst
}

func appendItem(dst, item []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(item)))
	return append(dst, item...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Batched yields the items that message data holds (a bus's events, or
// audit-log records), in the order they were stored. The items are slices
// of data. A batch whose framing is damaged yields what is left of it as
// one last item, which the reader then finds is not JSON.
func Batched(data []byte) iter.Seq[[]byte] {
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

// IsBatch reports whether message data holds several items.
func IsBatch(data []byte) bool { return len(data) > 0 && data[0] == batchMark }
