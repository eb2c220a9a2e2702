package sqs

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
)

// A standard queue's deleted messages leave its stream in bulk, not one
// JetStream request each: DeleteMessage stores the durable record of the
// delete (a journal record, or in a shared queue the message's purge
// marker, which every process serving the queue watches) and answers; the
// queue's reaper then purges the stream below its lowest message not
// deleted, one request for all the messages deleted below it, and for the
// journal records no message needs any more. A deleted message (or record)
// the purge cannot reach (a message before it is still in the queue) is
// deleted on its own once it has waited Service.reapStraggler. The messages
// a stopped process deleted and the stream still holds are known again
// when it starts: from the journal, whose delete records stay as long as
// the messages they tell of; from their markers, for as long as the
// markers last (markerTTL): a process down longer than that may deliver
// them again, as SQS may deliver a standard queue's message more than
// once. A FIFO queue's messages are deleted from the stream before
// DeleteMessage answers.

const (
	// defaultReapEvery is how long the reaper lets deletes gather before a
	// purge (Service.reapEvery).
	defaultReapEvery = 100 * time.Millisecond
	// defaultReapStraggler is how long a deleted message waits for a purge
	// to reach it before it is deleted on its own (Service.reapStraggler).
	defaultReapStraggler = 20 * time.Second
)

// reapEvery is how long deletes gather before a purge.
func (s *Service) reapEvery() time.Duration { return time.Duration(s.reapEveryNs.Load()) }

// reapStraggler is how long a deleted message waits for a purge.
func (s *Service) reapStraggler() time.Duration { return time.Duration(s.reapStragglerNs.Load()) }

// deadMsg is a deleted message (or a journal record no longer needed) the
// stream may still hold.
type deadMsg struct {
	seq uint64
	due int64  // unix ms when it is deleted on its own if no purge took it
	rec uint64 // the journal record of its delete, held until it leaves the stream
}

// deletedMsg is a message deleted before the index reached it: how long it
// waits for a purge once the index does, and the journal record of its
// delete.
type deletedMsg struct {
	after time.Duration
	rec   uint64
}

// buryLocked notes that seq, deleted, must leave the stream; after is how
// long it waits for a purge before it is deleted on its own. It takes over
// a reference to rec, the journal record of the delete (0: none).
func (q *queue) buryLocked(seq uint64, now time.Time, after time.Duration, rec uint64) {
	q.dead = append(q.dead, deadMsg{seq: seq, due: now.Add(after).UnixMilli(), rec: rec})
	select {
	case q.reaping <- struct{}{}:
	default:
	}
}

// deletedLocked handles seq's purge marker, written by any process, or its
// delete in the journal (record rec, whose reference it takes over): the
// message is dropped from the index, or skipped when the index reaches it,
// and removed from the stream.
func (q *queue) deletedLocked(seq uint64, now time.Time, after time.Duration, rec uint64) {
	if streamSeq(seq) < q.floor {
		q.unrefLocked(rec)
		return
	}
	if streamSeq(seq) > q.seen {
		if d, ok := q.deleted[seq]; ok {
			q.unrefLocked(d.rec)
		}
		q.deleted[seq] = deletedMsg{after: after, rec: rec}
		return
	}
	e, ok := q.msgs[seq]
	if !ok || q.rec.fifo() {
		if ok {
			q.dropLocked(seq, e)
			q.forgetSavedLocked(seq)
		}
		q.unrefLocked(rec)
		return
	}
	q.dropLocked(seq, e)
	q.forgetSavedLocked(seq)
	q.buryLocked(seq, now, after, rec)
}

// forgetSavedLocked removes seq's saved state, if any.
func (q *queue) forgetSavedLocked(seq uint64) {
	if st, ok := q.saved[seq]; ok {
		delete(q.saved, seq)
		q.unrefLocked(st.rec)
	}
}

// liveFloorLocked is the stream sequence below which the index has no
// message: every message below it was deleted, moved, expired or purged.
func (q *queue) liveFloorLocked() uint64 {
	for _, seq := range q.order {
		if _, ok := q.msgs[seq]; ok {
			return streamSeq(seq)
		}
	}
	return q.seen + 1
}

// reap removes deleted messages from the stream until the queue stops.
func (q *queue) reap(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.halt:
			return
		case <-q.reaping:
		}
		select {
		case <-ctx.Done():
			return
		case <-q.halt:
			return
		case <-time.After(q.svc.reapEvery()):
		}
		if q.reapOnce(ctx) {
			select {
			case q.reaping <- struct{}{}:
			default:
			}
		}
	}
}

// reapOnce purges the stream below its lowest live message when a deleted
// message is below it, and deletes the deleted messages that waited long
// enough on their own. It reports whether deleted messages remain.
func (q *queue) reapOnce(ctx context.Context) (more bool) {
	now := q.svc.now().UnixMilli()
	q.mu.Lock()
	floor := q.liveFloorLocked()
	purge := false
	var due []uint64
	for _, d := range q.dead {
		switch {
		case streamSeq(d.seq) < floor:
			purge = true
		case d.due <= now && q.packLive[streamSeq(d.seq)] == 0:
			// (A pack leaves once none of its messages is left.)
			due = append(due, streamSeq(d.seq))
		}
	}
	q.mu.Unlock()
	if purge {
		if err := q.st.Purge(ctx, jetstream.WithPurgeSequence(floor)); err != nil {
			q.svc.log.Debug("sqs: purge deleted messages", "queue", q.name, "below", floor, "err", err)
			return true
		}
	}
	done := make(map[uint64]bool, len(due))
	for _, seq := range due {
		err := q.st.DeleteMsg(ctx, seq)
		if err != nil && !store.MsgGone(err) {
			q.svc.log.Debug("sqs: delete a deleted message", "queue", q.name, "seq", seq, "err", err)
			break
		}
		done[seq] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// The journal records of the deletes of messages gone from the stream
	// are no longer needed by them (released once the list is pruned).
	var release []uint64
	for seq, d := range q.deleted {
		if streamSeq(seq) <= q.seen {
			delete(q.deleted, seq) // the index passed it: gone from the stream
			release = append(release, d.rec)
		}
	}
	kept := q.dead[:0]
	for _, d := range q.dead {
		if (purge && streamSeq(d.seq) < floor) || done[streamSeq(d.seq)] {
			release = append(release, d.rec)
			continue
		}
		kept = append(kept, d)
	}
	clear(q.dead[len(kept):])
	q.dead = kept
	for _, rec := range release {
		q.unrefLocked(rec)
	}
	return len(q.dead) > 0
}
