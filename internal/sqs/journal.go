package sqs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The receive journal. A standard queue this process serves alone (the
// embedded NATS server: one process a data directory) keeps its messages'
// receive states and deletes in its own stream, on the subject
// store.QueueJournalSubject, instead of in the bucket, one key a message. A
// receive stores one record for all the messages it took, a
// ChangeMessageVisibility one for its message, a delete one for its
// message; the writes of a queue that come while a record is being stored
// are gathered into the next record (a DeleteMessageBatch's ten deletes
// make one or two records). The stream is then the whole truth of a
// message: the message, and after it the records that tell its receives
// and its delete.
//
// A record lives while it holds the latest state of a message still in the
// queue, or the delete of a message the stream still has. The index counts
// the messages that hold each record (refs); a record no message holds is
// buried like a deleted message (see reap.go): the reaper's purges below
// the lowest live message take records and deleted messages together, as a
// record always follows the messages it tells of. When the queue opens,
// its records are read in order: a later state of a message replaces an
// earlier one, and a delete is final.
//
// With other processes serving the queue (a shared NATS server or
// cluster), the receive states are the bucket's keys, claimed with
// compare-and-set writes (see queue.claim); a FIFO queue keeps them there
// too.

// jentry is a message's state in a journal record: receives 0 means the
// message was deleted.
type jentry struct {
	seq                  uint64
	receives             int32
	firstRecv, visibleAt int64
}

// journalVersion is the first byte of a record; the entries follow, each
// the sequence and receive count (uvarints), and the first receive and
// visibility times (varints, unix ms).
const journalVersion = 1

// maxJournalEntries bounds a record (about 40 bytes an entry at most).
const maxJournalEntries = 4096

var errBadJournal = errors.New("sqs: malformed journal record")

// appendJournal appends the record of es to b.
func appendJournal(b []byte, es []jentry) []byte {
	b = append(b, journalVersion)
	for _, e := range es {
		b = binary.AppendUvarint(b, e.seq)
		b = binary.AppendUvarint(b, uint64(e.receives))
		b = binary.AppendVarint(b, e.firstRecv)
		b = binary.AppendVarint(b, e.visibleAt)
	}
	return b
}

// parseJournal reads a record.
func parseJournal(b []byte) ([]jentry, error) {
	if len(b) == 0 || b[0] != journalVersion {
		return nil, errBadJournal
	}
	b = b[1:]
	var es []jentry
	for len(b) > 0 {
		var e jentry
		var n int
		var r uint64
		if e.seq, n = binary.Uvarint(b); n <= 0 || e.seq == 0 {
			return nil, errBadJournal
		}
		b = b[n:]
		if r, n = binary.Uvarint(b); n <= 0 || r > math.MaxInt32 {
			return nil, errBadJournal
		}
		e.receives, b = int32(r), b[n:]
		if e.firstRecv, n = binary.Varint(b); n <= 0 {
			return nil, errBadJournal
		}
		b = b[n:]
		if e.visibleAt, n = binary.Varint(b); n <= 0 {
			return nil, errBadJournal
		}
		b = b[n:]
		es = append(es, e)
	}
	return es, nil
}

// jpart is one writer's entries of a record, and what it does once the
// record is stored: apply runs with q.mu held, with the record's sequence.
type jpart struct {
	entries []jentry
	apply   func(rec uint64)
	done    chan error
}

// journalWriteTimeout bounds how long a record's store may take.
const journalWriteTimeout = 30 * time.Second

// journal stores es in the queue's journal and runs apply (with q.mu held)
// once they are stored, before it returns. Writes that come while a record
// is being stored share the next one.
func (q *queue) journal(ctx context.Context, es []jentry, apply func(rec uint64)) error {
	p := &jpart{entries: es, apply: apply, done: make(chan error, 1)}
	q.jmu.Lock()
	q.jparts = append(q.jparts, p)
	lead := !q.jbusy
	q.jbusy = true
	q.jmu.Unlock()
	if lead {
		q.writeJournal(context.WithoutCancel(ctx))
	}
	// The record is stored or not within journalWriteTimeout: the caller
	// waits for it, so that what apply does is done when it goes on.
	return <-p.done
}

// writeJournal stores the waiting parts as one record. If more came
// meanwhile, another goroutine stores them: the caller's own answer waits
// for nobody else's.
func (q *queue) writeJournal(ctx context.Context) {
	q.jmu.Lock()
	parts, n := q.jparts, 0
	for i, p := range parts {
		if i > 0 && n+len(p.entries) > maxJournalEntries {
			parts = parts[:i]
			break
		}
		n += len(p.entries)
	}
	q.jparts = q.jparts[len(parts):]
	q.jmu.Unlock()

	es := make([]jentry, 0, n)
	for _, p := range parts {
		es = append(es, p.entries...)
	}
	rec, err := q.storeJournal(ctx, appendJournal(make([]byte, 0, 1+len(es)*16), es))
	if err == nil {
		q.mu.Lock()
		for _, p := range parts {
			if p.apply != nil {
				p.apply(rec)
			}
		}
		if q.refs[rec] == 0 {
			q.buryLocked(rec, q.svc.now(), q.svc.reapStraggler(), 0)
		}
		q.mu.Unlock()
	}
	for _, p := range parts {
		p.done <- err
	}

	q.jmu.Lock()
	more := len(q.jparts) > 0
	q.jbusy = more
	q.jmu.Unlock()
	if more {
		go q.writeJournal(ctx)
	}
}

// storeJournal stores one record and returns its stream sequence.
func (q *queue) storeJournal(ctx context.Context, data []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, journalWriteTimeout)
	defer cancel()
	f, err := q.svc.cfg.Store.PublishAsync(&nats.Msg{Subject: q.jsubj, Data: data})
	if err != nil {
		return 0, fmt.Errorf("sqs: journal of %s: %w", q.name, err)
	}
	seq, err := f.Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqs: journal of %s: %w", q.name, err)
	}
	return seq, nil
}

// refLocked notes that one more message holds record rec (0: none).
func (q *queue) refLocked(rec uint64) {
	if rec != 0 {
		q.refs[rec]++
	}
}

// unrefLocked notes that a message no longer holds record rec; a record no
// message holds is buried.
func (q *queue) unrefLocked(rec uint64) {
	if rec == 0 {
		return
	}
	if n := q.refs[rec] - 1; n > 0 {
		q.refs[rec] = n
		return
	}
	delete(q.refs, rec)
	q.buryLocked(rec, q.svc.now(), q.svc.reapStraggler(), 0)
}

// moveRefLocked makes e's state the one of record rec.
func (q *queue) moveRefLocked(e *entry, rec uint64) {
	old := e.rec
	e.rec = rec
	q.refLocked(rec)
	q.unrefLocked(old)
}

// claimJournaled is claim for a journaled queue: one record for all of got,
// whose messages are all this receive's once it is stored.
func (q *queue) claimJournaled(ctx context.Context, got []received, visibleAt int64) ([]bool, error) {
	es := make([]jentry, len(got))
	for i, g := range got {
		es[i] = jentry{seq: g.seq, receives: g.receives, firstRecv: g.firstRecv, visibleAt: visibleAt}
	}
	err := q.journal(ctx, es, func(rec uint64) {
		for _, g := range got {
			if e, ok := q.msgs[g.seq]; ok && e.rec == g.prev.rec && e.receives == g.receives {
				q.moveRefLocked(e, rec)
			}
		}
	})
	ok := make([]bool, len(got))
	if err != nil {
		for _, g := range got {
			q.restore(g.seq, g.prev)
		}
		return ok, fmt.Errorf("sqs: save receive states of %s: %w", q.name, err)
	}
	for i := range ok {
		ok[i] = true
	}
	return ok, nil
}

// setVisibleJournaled is setVisible for a journaled queue.
func (q *queue) setVisibleJournaled(ctx context.Context, now time.Time, seq uint64, receives int32, visibleAt int64) error {
	e, _, err := q.setVisibility(now, seq, receives, visibleAt)
	if err != nil {
		return err
	}
	err = q.journal(ctx, []jentry{{seq: seq, receives: e.receives, firstRecv: e.firstRecv, visibleAt: e.visibleAt}}, func(rec uint64) {
		if cur, ok := q.msgs[seq]; ok && cur.receives == e.receives && cur.visibleAt == e.visibleAt {
			q.moveRefLocked(cur, rec)
		}
	})
	if err != nil {
		return fmt.Errorf("sqs: save receive state of %s/%d: %w", q.name, seq, err)
	}
	return nil
}

// removeJournaled is remove for a journaled queue's messages es (deletes:
// no receive count) that the index has, or of a pack it does not have:
// their deletes are stored as one record, then they leave the index (or
// are skipped when the index reaches them), and the stream with the
// reaper's next purge. The messages of legacy, which had a receive state in
// the bucket (stored before the queue was journaled), lose it too.
func (q *queue) removeJournaled(ctx context.Context, es []jentry, legacy []uint64) error {
	err := q.journal(ctx, es, func(rec uint64) {
		now, after := q.svc.now(), q.svc.reapStraggler()
		for _, je := range es {
			q.refLocked(rec)
			e, ok := q.msgs[je.seq]
			if !ok {
				// A message of a pack the index has not reached: skipped
				// when it does (deletedLocked keeps the record's
				// reference). Or one gone since: the reference goes.
				q.deletedLocked(je.seq, now, after, rec)
				continue
			}
			q.dropLocked(je.seq, e)
			q.buryLocked(je.seq, now, after, rec)
		}
	})
	if err != nil {
		return fmt.Errorf("sqs: delete messages of %s: %w", q.name, err)
	}
	for _, seq := range legacy {
		if err := q.purgeState(ctx, seq); err != nil {
			return fmt.Errorf("sqs: remove receive state of %s/%d: %w", q.name, seq, err)
		}
	}
	return nil
}

// loadJournal reads the queue's journal (records from first on, the
// stream's first sequence) into the index's saved states and deletes. It
// runs before the index's consumer starts.
func (q *queue) loadJournal(ctx context.Context, first, last uint64) error {
	type state struct {
		jentry
		rec uint64
	}
	states := map[uint64]state{}
	var recs []uint64
	for seq := max(first, 1); seq <= last; {
		m, err := q.st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(q.jsubj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("sqs: queue %s: read journal: %w", q.name, err)
		}
		seq = m.Sequence + 1
		recs = append(recs, m.Sequence)
		es, err := parseJournal(m.Data)
		if err != nil {
			q.svc.log.Warn("sqs: skip a malformed journal record", "queue", q.name, "seq", m.Sequence)
			continue
		}
		for _, e := range es {
			if cur, ok := states[e.seq]; ok && cur.receives == 0 {
				continue // deleted: final
			}
			states[e.seq] = state{jentry: e, rec: m.Sequence}
		}
	}
	now := q.svc.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for seq, st := range states {
		switch {
		case streamSeq(seq) < first || streamSeq(seq) > last:
		case st.receives == 0:
			q.refLocked(st.rec)
			q.deletedLocked(seq, now, 0, st.rec)
		default:
			q.refLocked(st.rec)
			if old, ok := q.saved[seq]; ok {
				q.unrefLocked(old.rec)
			}
			q.saved[seq] = savedState{receives: st.receives, firstRecv: st.firstRecv, visibleAt: st.visibleAt, rec: st.rec}
		}
	}
	for _, rec := range recs {
		if q.refs[rec] == 0 {
			q.buryLocked(rec, now, 0, 0)
		}
	}
	return nil
}
