package sqs

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// A pack is several messages of a queue stored as one stream message: the
// events an EventBridge target delivers to a queue together (Deliver), on
// a queue this process serves alone and that is not FIFO. One JetStream
// write, acknowledgement and delivery to the index then carries them all,
// where each message alone costs as much as the pack. A pack's stream
// message has the header headerPack (how many messages it holds) and, as
// data, each message's body after its length (a uvarint); its messages
// have no headers of their own, as a delivery's have none.
//
// Each message of the index has an ID: a message stored alone has its
// stream sequence; the i-th message of the pack at stream sequence seq has
// packID(seq, i), which no stream sequence reaches. Receipt handles,
// message IDs, the journal and receive states name messages by their ID;
// what asks the stream (its first and last sequences, a purge's floor, a
// read) takes streamSeq(id). A pack leaves the stream when all of its
// messages are deleted (or with those below it, in a purge).
const (
	headerPack = "Sqs-Pack"
	// packBit marks a pack's message IDs.
	packBit = 1 << 63
	// packSlotBits is how many bits of an ID number a message in its
	// pack: at most maxPack messages a pack.
	packSlotBits = 6
	maxPack      = 1 << packSlotBits
	// maxPackBytes bounds a pack's data: well under any payload limit.
	maxPackBytes = 256 << 10
)

// packID is the ID of message slot of the pack at stream sequence seq.
func packID(seq uint64, slot int) uint64 {
	return packBit | seq<<packSlotBits | uint64(slot)
}

// streamSeq is the stream sequence of the stream message holding message
// id: its own, or its pack's.
func streamSeq(id uint64) uint64 {
	if id&packBit == 0 {
		return id
	}
	return id &^ packBit >> packSlotBits
}

// packSlot is message id's place in its pack (0 for a message alone).
func packSlot(id uint64) int {
	if id&packBit == 0 {
		return 0
	}
	return int(id & (maxPack - 1))
}

// idBefore says whether message a comes before message b in the stream.
func idBefore(a, b uint64) bool {
	sa, sb := streamSeq(a), streamSeq(b)
	return sa < sb || sa == sb && packSlot(a) < packSlot(b)
}

// packable says whether ms can go into one pack: two or more messages
// without headers of their own, within maxPack and maxPackBytes.
func packable(ms []*outgoing) bool {
	if len(ms) < 2 || len(ms) > maxPack {
		return false
	}
	n := 0
	for _, m := range ms {
		if m.delay >= 0 || len(m.attrs) > 0 || len(m.sysAttrs) > 0 || m.sender != "" || m.sourceQueue != "" ||
			m.group != "" || m.dedup != "" || m.msgID != "" || len(m.extra) > 0 {
			return false
		}
		n += binary.MaxVarintLen32 + len(m.body)
	}
	return n <= maxPackBytes
}

// appendPack appends the data of the pack of ms to b.
func appendPack(b []byte, ms []*outgoing) []byte {
	for _, m := range ms {
		b = binary.AppendUvarint(b, uint64(len(m.body)))
		b = append(b, m.body...)
	}
	return b
}

var errBadPack = errors.New("sqs: a malformed pack")

// unpack returns the bodies of the pack with data, which says it holds n
// (headerPack's value); they share data.
func unpack(n string, data []byte) ([][]byte, error) {
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 || count > maxPack {
		return nil, errBadPack
	}
	bodies := make([][]byte, 0, count)
	for len(data) > 0 {
		l, k := binary.Uvarint(data)
		if k <= 0 || l == 0 || l > uint64(len(data)-k) {
			return nil, errBadPack
		}
		bodies = append(bodies, data[k:k+int(l):k+int(l)])
		data = data[k+int(l):]
	}
	if len(bodies) != count {
		return nil, errBadPack
	}
	return bodies, nil
}

// messageOf is message id of raw, the stream message holding it: raw itself
// for a message alone, else its body in the pack (raw's sequence the
// message's ID, its time the pack's, no headers). ErrMsgNotFound when the
// pack has no such message.
func messageOf(raw *jetstream.RawStreamMsg, id uint64) (*jetstream.RawStreamMsg, error) {
	n := raw.Header.Get(headerPack)
	if id&packBit == 0 {
		if n != "" {
			return nil, jetstream.ErrMsgNotFound // a pack read as a message alone
		}
		return raw, nil
	}
	if n == "" {
		return nil, jetstream.ErrMsgNotFound
	}
	bodies, err := unpack(n, raw.Data)
	if err != nil {
		return nil, err
	}
	slot := packSlot(id)
	if slot >= len(bodies) {
		return nil, jetstream.ErrMsgNotFound
	}
	return &jetstream.RawStreamMsg{Subject: raw.Subject, Sequence: id, Data: bodies[slot], Time: raw.Time}, nil
}
