package sqs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
)

// entry is the receive state of one message of a queue's index.
type entry struct {
	group     string // a FIFO queue's message group
	sentMs    int64
	visibleAt int64 // unix ms: when the message is (again) receivable
	receives  int32
	firstRecv int64  // unix ms of the first receive, 0 before
	rev       uint64 // revision of its receive state in the bucket, 0 before the first receive
	rec       uint64 // a journaled queue's: the journal record of its state, 0 before the first receive
	// hdr and body are the stored message when the index keeps it (body
	// not nil; see cacheBodies), so that a receive need not read it.
	hdr  nats.Header
	body []byte
}

// The index of a queue served by this process alone keeps the bodies of
// messages up to bodyCacheMax bytes, up to bodyCacheBytes in all: a receive
// then reads nothing from the stream. With other processes serving the same
// queue, a receive reads each message from the stream, which also tells
// whether another process deleted it.
const (
	bodyCacheMax   = 64 << 10
	bodyCacheBytes = 16 << 20
)

// queue is one open queue: its record and its message index.
type queue struct {
	svc     *Service
	arn     string
	account string // the account in arn
	name    string
	stream  string
	subj    string
	gen     string

	mu      sync.Mutex
	rec     *queueRecord
	msgs    map[uint64]*entry     // by message ID (see pack.go)
	order   []uint64              // message IDs in stream order; may hold some no longer in msgs
	seen    uint64                // highest stream sequence indexed
	floor   uint64                // sequences below were purged
	wake    chan struct{}         // closed when the index changes (see wakeIndexLocked)
	waiters []*waiter             // receives waiting, longest first
	saved   map[uint64]savedState // receive states loaded from KV, not yet matched
	stopped bool
	// fresh counts the indexed messages never received. At window, the
	// index takes no more: the rest wait in the stream (the truth) and are
	// indexed, in order, as receives take these. Memory is bounded by the
	// window plus the messages received and not deleted.
	fresh  int
	window int
	// inFlightLimit is the most messages in flight at once (SQS's 120,000
	// for standard queues); a receive past it is answered OverLimit.
	inFlightLimit int
	// attempts are the FIFO receives with a ReceiveRequestAttemptId of the
	// last five minutes (see attempt.go).
	attempts map[string]*attempt
	// cacheBodies: the index keeps message bodies (see bodyCacheMax);
	// cached is the bytes it keeps.
	cacheBodies bool
	cached      int
	// dead are deleted messages the stream may still hold, deleted are
	// those deleted (by any process) before the index reached them, with
	// how long they wait for a purge (see reap.go). reaping wakes the
	// reaper, halt stops it.
	dead    []deadMsg
	deleted map[uint64]deletedMsg
	reaping chan struct{}
	halt    chan struct{}
	// packLive counts, per pack (its stream sequence), its messages in
	// the index: a pack leaves the stream on its own only when none is.
	packLive map[uint64]int

	// journaled: the receive states and deletes are kept in the queue's
	// journal (see journal.go), on subject jsubj; refs counts the
	// messages that hold each record. jparts are the writes waiting for
	// the next record, jbusy tells that one is being stored (under jmu).
	journaled bool
	jsubj     string
	refs      map[uint64]int32
	jmu       sync.Mutex
	jparts    []*jpart
	jbusy     bool

	cctx jetstream.ConsumeContext
	st   jetstream.Stream // the queue's stream (its handle: reads and deletes by sequence)
}

// savedState is a message's receive state as the bucket has it.
type savedState struct {
	receives  int32
	firstRecv int64
	visibleAt int64
	rev       uint64
	rec       uint64 // the journal record it was read from (journal.go)
}

// parseState reads a receive state stored by claim or setVisible.
func parseState(v []byte, rev uint64) (savedState, bool) {
	st := savedState{rev: rev}
	_, err := fmt.Sscanf(string(v), "%d %d %d", &st.receives, &st.firstRecv, &st.visibleAt)
	return st, err == nil
}

func (st savedState) value() []byte {
	return fmt.Appendf(nil, "%d %d %d", st.receives, st.firstRecv, st.visibleAt)
}

// openQueue ensures the queue's stream and starts its index.
func (s *Service) openQueue(ctx context.Context, rec *queueRecord) (*queue, error) {
	a, _ := scope.ParseARN(rec.ARN)
	q := &queue{svc: s, arn: rec.ARN, account: a.Account, name: rec.Name, stream: store.QueueStream(rec.ARN), subj: store.QueueSubject(rec.ARN),
		gen: rec.Generation, rec: rec, msgs: map[uint64]*entry{}, wake: make(chan struct{}), saved: map[uint64]savedState{},
		window: s.window, inFlightLimit: s.inFlightLimit, cacheBodies: !s.shared,
		deleted: map[uint64]deletedMsg{}, packLive: map[uint64]int{}, reaping: make(chan struct{}, 1), halt: make(chan struct{}),
		journaled: !s.shared && !rec.fifo(), jsubj: store.QueueJournalSubject(rec.ARN), refs: map[uint64]int32{}}
	// A stream that exists already (dead letters written by an earlier
	// version, before the queue was created) keeps its messages and takes
	// the queue's retention.
	if _, err := s.cfg.Store.EnsureStream(ctx, s.streamConfig(rec)); err != nil {
		return nil, fmt.Errorf("sqs: queue %s: ensure stream: %w", rec.Name, err)
	}
	st, err := s.js.UpdateStream(ctx, s.streamConfig(rec))
	if err != nil {
		return nil, fmt.Errorf("sqs: queue %s: update stream: %w", rec.Name, err)
	}
	q.st = st
	if err := q.loadStates(ctx); err != nil {
		return nil, err
	}
	if q.journaled {
		info, err := q.st.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("sqs: queue %s: stream: %w", rec.Name, err)
		}
		if err := q.loadJournal(ctx, info.State.FirstSeq, info.State.LastSeq); err != nil {
			return nil, err
		}
	}
	q.dropExpiredStates(ctx)
	cons, err := s.js.OrderedConsumer(ctx, q.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{q.subj}, HeadersOnly: !q.cacheBodies})
	if err != nil {
		return nil, fmt.Errorf("sqs: queue %s: consumer: %w", rec.Name, err)
	}
	cc, err := cons.Consume(q.index, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			s.log.Debug("sqs: queue consumer", "queue", rec.Name, "err", err)
		}
	}), jetstream.PullMaxBytes(8<<20), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return nil, fmt.Errorf("sqs: queue %s: consume: %w", rec.Name, err)
	}
	q.cctx = cc
	s.background(q.reap)
	return q, nil
}

// streamConfig is the queue's stream: the dead-letter stream configuration
// with the queue's retention period.
func (s *Service) streamConfig(rec *queueRecord) jetstream.StreamConfig {
	cfg := delivery.DLQStreamConfig(rec.ARN, s.cfg.Store.Replicas(), time.Duration(rec.intAttr(attrMessageRetentionPeriod))*time.Second)
	if rec.fifo() {
		// Messages with the same deduplication id are stored once in five
		// minutes, or in the retention period when that is shorter
		// (JetStream keeps no duplicate window longer than its messages).
		cfg.Duplicates = min(fifoDedupWindow, cfg.MaxAge)
	}
	// Receives read bodies by sequence: direct gets skip the JetStream API's
	// JSON. Not with replicas: a follower answers direct gets too, and one
	// that is behind (a server catching up after a restart) says a message
	// just stored is not there, and a receive would take it for deleted.
	cfg.AllowDirect = s.cfg.Store.Replicas() <= 1
	return cfg
}

func (q *queue) stateKey(seq uint64) string {
	return "s." + q.gen + "." + strconv.FormatUint(seq, 10)
}

// loadStates reads the queue's receive states from the bucket, and the
// purge markers of the messages deleted in the last markerTTL: those the
// stream still holds are skipped by the index and removed.
func (q *queue) loadStates(ctx context.Context) error {
	w, err := q.svc.kv.Watch(ctx, "s."+q.gen+".*")
	if err != nil {
		return fmt.Errorf("sqs: queue %s: read receive states: %w", q.name, err)
	}
	defer func() { _ = w.Stop() }()
	info, err := q.st.Info(ctx)
	if err != nil {
		return fmt.Errorf("sqs: queue %s: stream: %w", q.name, err)
	}
	now := q.svc.now()
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return fmt.Errorf("sqs: queue %s: read receive states: %w", q.name, ctx.Err())
		}
		if e == nil {
			return nil // all read
		}
		k := e.Key()
		seq, err := strconv.ParseUint(k[strings.LastIndexByte(k, '.')+1:], 10, 64)
		if err != nil {
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			if s := streamSeq(seq); s >= info.State.FirstSeq && s <= info.State.LastSeq {
				q.mu.Lock()
				q.deletedLocked(seq, now, 0, 0)
				q.mu.Unlock()
			}
			continue
		}
		if st, ok := parseState(e.Value(), e.Revision()); ok {
			q.applyState(seq, st)
		}
	}
}

// applyState makes st seq's receive state when it is newer than the one the
// index has: another process received the message or changed its
// visibility (or this one did, and hears of it again).
func (q *queue) applyState(seq uint64, st savedState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if streamSeq(seq) < q.floor {
		return
	}
	e, ok := q.msgs[seq]
	if !ok {
		if streamSeq(seq) <= q.seen {
			return // indexed before, and gone since
		}
		if cur, ok := q.saved[seq]; !ok || st.rev > cur.rev {
			q.saved[seq] = st
		}
		return
	}
	if st.rev <= e.rev {
		return
	}
	if e.receives == 0 && st.receives > 0 {
		q.fresh-- // room in the window
	}
	e.receives, e.firstRecv, e.visibleAt, e.rev = st.receives, st.firstRecv, st.visibleAt, st.rev
	q.wakeLocked()
}

// index is the ordered consumer's callback: it adds a stream message to the
// index (each of its messages, for a pack).
func (q *queue) index(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	seq := meta.Sequence.Stream
	sent := meta.Timestamp.UnixMilli()
	hdr := msg.Headers()
	delay := -1
	if v := hdr.Get(headerDelay); v != "" {
		delay, _ = strconv.Atoi(v)
	}
	var bodies [][]byte
	if n := hdr.Get(headerPack); n != "" {
		if bodies, err = unpack(n, msg.Data()); err != nil {
			q.svc.log.Warn("sqs: skip a malformed pack", "queue", q.name, "seq", seq)
			bodies = nil
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// A full window holds the consumer here (it stops pulling once its
	// buffer is full) until receives make room.
	for q.fresh >= q.window && !q.stopped && seq > q.seen && seq >= q.floor {
		ch := q.wake
		q.mu.Unlock()
		<-ch
		q.mu.Lock()
	}
	if seq <= q.seen || seq < q.floor {
		return
	}
	q.seen = seq
	if hdr.Get(headerPack) == "" {
		q.indexLocked(seq, sent, delay, hdr, msg.Data())
	} else {
		for i, b := range bodies {
			q.indexLocked(packID(seq, i), sent, delay, nil, b)
		}
	}
	q.wakeIndexLocked()
	q.signalLocked()
}

// indexLocked adds message id, stored at sent (unix ms) with delay (-1: the
// queue's), its headers and its body, to the index; q.mu is held.
func (q *queue) indexLocked(id uint64, sent int64, delay int, hdr nats.Header, body []byte) {
	if d, ok := q.deleted[id]; ok {
		delete(q.deleted, id)
		q.forgetSavedLocked(id)
		if !q.rec.fifo() {
			q.buryLocked(id, q.svc.now(), d.after, d.rec)
		} else {
			q.unrefLocked(d.rec)
		}
		return
	}
	if delay < 0 {
		delay = q.rec.intAttr(attrDelaySeconds)
	}
	e := &entry{sentMs: sent, visibleAt: sent + int64(delay)*1000}
	if q.rec.fifo() {
		e.group = hdr.Get(headerGroup)
	}
	if q.cacheBodies && len(body) > 0 && len(body) <= bodyCacheMax && q.cached+len(body) <= bodyCacheBytes {
		e.hdr, e.body = hdr, body
		q.cached += len(body)
	}
	if st, ok := q.saved[id]; ok {
		e.receives, e.firstRecv, e.visibleAt, e.rev, e.rec = st.receives, st.firstRecv, st.visibleAt, st.rev, st.rec
		delete(q.saved, id) // its record's reference goes with it to the entry
	}
	q.msgs[id] = e
	q.order = append(q.order, id)
	if id&packBit != 0 {
		q.packLive[streamSeq(id)]++
	}
	if e.receives == 0 {
		q.fresh++
	}
}

// wakeLocked tells everyone waiting on the queue that something changed:
// the indexer, the sends waiting for it, and every waiting receive.
func (q *queue) wakeLocked() {
	q.wakeIndexLocked()
	for _, w := range q.waiters {
		w.ch <- struct{}{}
	}
	clear(q.waiters)
	q.waiters = q.waiters[:0]
}

// wakeIndexLocked wakes the indexer (room in its window) and the sends
// waiting for it (a message indexed), not the receives.
func (q *queue) wakeIndexLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// A waiter is a receive waiting for messages (a long poll). A message
// indexed wakes one waiter, not all of them: with many receives waiting,
// each new message woke every one, and all but one found nothing.
type waiter struct{ ch chan struct{} }

// enter registers a receive as waiting, before it looks for messages (so
// that no message indexed meanwhile goes unheard); nil when the queue
// stopped.
func (q *queue) enter() *waiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return nil
	}
	w := &waiter{ch: make(chan struct{}, 1)}
	q.waiters = append(q.waiters, w)
	return w
}

// leave unregisters w. A waiter that was woken but leaves without looking
// again (its poll ended) passes its wake-up on.
func (q *queue) leave(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiters, w); i >= 0 {
		q.waiters = slices.Delete(q.waiters, i, i+1)
		return
	}
	if len(w.ch) > 0 {
		q.signalLocked()
	}
}

// handOff wakes a waiting receive to watch for a message in flight
// becoming visible: the receive that watched it is leaving.
func (q *queue) handOff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.signalLocked()
}

// signalLocked wakes the waiter that has waited longest.
func (q *queue) signalLocked() {
	if len(q.waiters) == 0 {
		return
	}
	w := q.waiters[0]
	q.waiters = slices.Delete(q.waiters, 0, 1)
	w.ch <- struct{}{}
}

func (q *queue) stop() {
	q.mu.Lock()
	if !q.stopped {
		close(q.halt)
	}
	q.stopped = true
	q.wakeLocked()
	q.mu.Unlock()
	if q.cctx != nil {
		q.cctx.Stop()
	}
}

func (q *queue) record() *queueRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rec
}

// setRecord makes rec the queue's record unless it has a newer one, and
// applies a purge it tells of.
func (q *queue) setRecord(rec *queueRecord) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if rec.revision < q.rec.revision {
		return
	}
	q.rec = rec
	q.applyFloorLocked(rec.PurgedBelow)
	q.wakeLocked()
}

// outgoing is a message to publish.
type outgoing struct {
	body        []byte
	delay       int
	attrs       map[string]MessageAttributeValue
	sysAttrs    map[string]MessageAttributeValue
	sender      string
	sourceQueue string // set when moved here by a redrive policy
	extra       nats.Header
	// A FIFO queue's message group and deduplication id, and the id JetStream
	// deduplicates by.
	group, dedup, msgID string
}

// publish stores m in the queue's stream and waits until the index has it
// (so a receive right after a send sees it). It returns the stream sequence.
func (q *queue) publish(ctx context.Context, m *outgoing) (uint64, error) {
	seqs, errs := q.publishAll(ctx, []*outgoing{m})
	return seqs[0], errs[0]
}

// publishAll stores ms in the queue's stream together (their writes in
// flight at once, in order) and waits until the index has them. seqs[i] and
// errs[i] are ms[i]'s stream sequence or error.
func (q *queue) publishAll(ctx context.Context, ms []*outgoing) (seqs []uint64, errs []error) {
	seqs, errs = q.put(ctx, ms)
	var last uint64
	for i := range seqs {
		if errs[i] == nil {
			last = max(last, seqs[i])
		}
	}
	if last > 0 {
		if err := q.waitIndexed(ctx, last); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		}
	}
	return seqs, errs
}

// put stores ms in the queue's stream together (their writes in flight at
// once, in order), without waiting for the index: an EventBridge target's
// delivery (Deliver), which no receive of the caller's follows.
func (q *queue) put(ctx context.Context, ms []*outgoing) (seqs []uint64, errs []error) {
	seqs, errs = make([]uint64, len(ms)), make([]error, len(ms))
	futures := make([]*store.AckFuture, len(ms))
	for i, m := range ms {
		futures[i], errs[i] = q.svc.cfg.Store.PublishAsync(q.message(m))
	}
	for i, f := range futures {
		if f == nil {
			errs[i] = fmt.Errorf("sqs: send to %s: %w", q.name, errs[i])
			continue
		}
		var err error
		if seqs[i], err = f.Wait(ctx); err != nil {
			errs[i] = fmt.Errorf("sqs: send to %s: %w", q.name, err)
		}
	}
	return seqs, errs
}

// message is m as the queue's stream stores it. A message with nothing to
// say in headers has none.
func (q *queue) message(m *outgoing) *nats.Msg {
	var h nats.Header
	set := func(k, v string) {
		if v == "" {
			return
		}
		if h == nil {
			h = nats.Header{}
		}
		h[k] = []string{v}
	}
	if m.delay >= 0 {
		set(headerDelay, strconv.Itoa(m.delay))
	}
	set(headerAttributes, encodeAttributes(m.attrs))
	set(headerSystemAttributes, encodeAttributes(m.sysAttrs))
	set(headerSender, m.sender)
	set(headerSourceQueue, m.sourceQueue)
	set(headerGroup, m.group)
	set(headerDedup, m.dedup)
	for k, v := range m.extra {
		if h == nil {
			h = nats.Header{}
		}
		h[k] = v
	}
	// The queue's subject is its stream's alone (JetStream refuses streams
	// whose subjects overlap): the stream is not named in a header.
	set(jetstream.MsgIDHeader, m.msgID)
	return &nats.Msg{Subject: q.subj, Header: h, Data: m.body}
}

// readMsg reads message id from the stream: its stream message, or its
// body in its pack.
func (q *queue) readMsg(ctx context.Context, id uint64) (*jetstream.RawStreamMsg, error) {
	raw, err := q.st.GetMsg(ctx, streamSeq(id))
	if err != nil {
		return nil, err
	}
	return messageOf(raw, id)
}

func (q *queue) waitIndexed(ctx context.Context, seq uint64) error {
	for {
		q.mu.Lock()
		// With the window full, the message is indexed later, in order.
		done, ch := q.seen >= seq || q.stopped || q.fresh >= q.window, q.wake
		q.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// received is one message taken by a receive.
type received struct {
	seq       uint64
	sentMs    int64
	receives  int32
	firstRecv int64
	// prev is the message's entry before the receive took it: claim puts it
	// back when the bucket says another receive was first.
	prev entry
}

// stored is g's stored message as the index keeps it, or nil.
func (g received) stored(q *queue) *jetstream.RawStreamMsg {
	if g.prev.body == nil { // bodies are never empty: nil is not kept
		return nil
	}
	return &jetstream.RawStreamMsg{Subject: q.subj, Sequence: g.seq, Header: g.prev.hdr, Data: g.prev.body,
		Time: time.UnixMilli(g.sentMs)}
}

// take marks up to max visible messages with sequences up to upTo invisible
// for vt and returns them; next is the earliest time (unix ms) another
// message becomes visible (0 for none).
func (q *queue) take(now time.Time, max int, vt time.Duration, upTo uint64) (got []received, next int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ms := now.UnixMilli()
	retention := int64(q.rec.intAttr(attrMessageRetentionPeriod)) * 1000
	// A FIFO queue's group with a message in flight gives none until it is deleted or
	// visible again; a group's messages come in order.
	var busy map[string]bool
	if q.rec.fifo() {
		busy = map[string]bool{}
		for _, seq := range q.order {
			if e, ok := q.msgs[seq]; ok && e.receives > 0 && e.visibleAt > ms {
				busy[e.group] = true
			}
		}
	}
	kept := q.order[:0]
	for i, seq := range q.order {
		e, ok := q.msgs[seq]
		if !ok {
			continue
		}
		if len(got) >= max || streamSeq(seq) > upTo {
			// Enough, or past the bound: keep the rest as it is (next
			// only matters when nothing was taken).
			kept = append(kept, q.order[i:]...)
			break
		}
		if e.sentMs+retention <= ms {
			q.dropLocked(seq, e)
			continue
		}
		kept = append(kept, seq)
		if e.visibleAt > ms {
			if next == 0 || e.visibleAt < next {
				next = e.visibleAt
			}
			if busy != nil {
				busy[e.group] = true // what follows in the group waits for it
			}
			continue
		}
		if busy != nil && busy[e.group] {
			continue
		}

		prev := *e
		if e.receives == 0 {
			q.fresh-- // room in the window
		}
		e.receives++
		if e.firstRecv == 0 {
			e.firstRecv = ms
		}
		e.visibleAt = ms + vt.Milliseconds()
		got = append(got, received{seq: seq, sentMs: e.sentMs, receives: e.receives, firstRecv: e.firstRecv, prev: prev})
	}
	// Clear the tail so dropped sequences do not pin memory.
	clear(q.order[len(kept):])
	q.order = kept
	if len(got) > 0 {
		// The indexer may go on, and a waiting receive looks again: it
		// sets its timer by when the messages taken are visible again (and
		// hands that watch on if its poll ends first; see receiveMessage).
		q.wakeIndexLocked()
		q.signalLocked()
	}
	return got, next
}

// dropLocked removes seq (entry e) from the index.
func (q *queue) dropLocked(seq uint64, e *entry) {
	q.cached -= len(e.body)
	q.unrefLocked(e.rec)
	if e.receives == 0 {
		q.fresh--
		q.wakeIndexLocked() // room in the window
	} else if e.group != "" {
		q.wakeLocked() // the next message of its FIFO group may be received
	}
	delete(q.msgs, seq)
	if seq&packBit != 0 {
		s := streamSeq(seq)
		if q.packLive[s]--; q.packLive[s] <= 0 {
			delete(q.packLive, s)
		}
	}
}

// overLimit reports whether the queue has its limit of messages in flight.
// Only messages received before can be in flight, so they are counted only
// when that many are indexed.
func (q *queue) overLimit(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs)-q.fresh < q.inFlightLimit {
		return false
	}
	ms, n := now.UnixMilli(), 0
	for _, e := range q.msgs {
		if e.receives > 0 && e.visibleAt > ms {
			n++
		}
	}
	return n >= q.inFlightLimit
}

// counts returns the ApproximateNumberOfMessages* values. Messages past a
// full window are counted from the stream's state, as visible.
func (q *queue) counts(ctx context.Context, now time.Time) (visible, notVisible, delayed int) {
	q.mu.Lock()
	// The stream also holds the deleted messages the reaper has not removed.
	full, indexed, dead := q.fresh >= q.window, len(q.msgs), len(q.dead)
	// The stream messages the index holds: its messages alone, and packs.
	held := indexed + len(q.packLive)
	for _, n := range q.packLive {
		held -= n
	}
	q.mu.Unlock()
	if full && held > 0 {
		// The queue's messages past the window are its subject's stream
		// messages, less those the index has and the deleted ones, with
		// as many messages to a stream message as the index has.
		if info, err := q.st.Info(ctx, jetstream.WithSubjectFilter(q.subj)); err == nil {
			if n := int(info.State.Subjects[q.subj]); n > held+dead {
				visible = (n - held - dead) * indexed / held
			}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	ms := now.UnixMilli()
	retention := int64(q.rec.intAttr(attrMessageRetentionPeriod)) * 1000
	for _, e := range q.msgs {
		switch {
		case e.sentMs+retention <= ms:
		case e.visibleAt <= ms:
			visible++
		case e.receives == 0:
			delayed++
		default:
			notVisible++
		}
	}
	return visible, notVisible, delayed
}

// oldestSent is when the oldest message the index has was sent (unix ms),
// 0 when it has none.
func (q *queue) oldestSent() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, seq := range q.order {
		if e, ok := q.msgs[seq]; ok {
			return e.sentMs
		}
	}
	return 0
}

// forget removes seq from the index (deleted here or elsewhere, expired or
// moved).
func (q *queue) forget(seq uint64) (had bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forgetSavedLocked(seq)
	e, had := q.msgs[seq]
	if had {
		q.dropLocked(seq, e)
	}
	return had
}

// claim stores the receive states of messages take marked received, with
// compare-and-set writes against the revisions the index knew: a message
// another process received, or changed the visibility of, since this index
// last heard of it is not this receive's, and the index takes the bucket's
// state of it. ok[i] reports whether got[i] is this receive's. A FIFO
// queue's messages are claimed one after the other, and a group stops at
// its first message not claimed, so a group's messages are never handed
// out of order.
func (q *queue) claim(ctx context.Context, got []received, visibleAt int64) (ok []bool, err error) {
	if q.journaled {
		return q.claimJournaled(ctx, got, visibleAt)
	}
	ok, tried := make([]bool, len(got)), make([]bool, len(got))
	write := func(g received) (jetstream.PubAckFuture, error) {
		return q.writeState(g.seq, savedState{receives: g.receives, firstRecv: g.firstRecv, visibleAt: visibleAt}, g.prev.rev)
	}
	settle := func(i int, f jetstream.PubAckFuture) error {
		select {
		case ack := <-f.Ok():
			ok[i] = true
			q.settle(got[i].seq, got[i].prev.rev, ack.Sequence)
			return nil
		case err := <-f.Err():
			if isConflict(err) {
				return nil
			}
			return fmt.Errorf("sqs: save receive state of %s/%d: %w", q.name, got[i].seq, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() {
		// What was not claimed is as the bucket says.
		for i, g := range got {
			switch {
			case ok[i]:
			case tried[i]:
				q.refresh(context.WithoutCancel(ctx), g.seq, &g.prev)
			default:
				q.restore(g.seq, g.prev)
			}
		}
	}()
	if q.record().fifo() {
		stopped := map[string]bool{}
		for i, g := range got {
			if stopped[g.prev.group] {
				continue
			}
			tried[i] = true
			f, err := write(g)
			if err != nil {
				return ok, fmt.Errorf("sqs: save receive state of %s/%d: %w", q.name, g.seq, err)
			}
			if err := settle(i, f); err != nil {
				return ok, err
			}
			if !ok[i] {
				stopped[g.prev.group] = true
			}
		}
		return ok, nil
	}
	futures := make([]jetstream.PubAckFuture, len(got))
	for i, g := range got {
		tried[i] = true
		if futures[i], err = write(g); err != nil {
			return ok, fmt.Errorf("sqs: save receive state of %s/%d: %w", q.name, g.seq, err)
		}
	}
	for i, f := range futures {
		if err := settle(i, f); err != nil {
			return ok, err
		}
	}
	return ok, nil
}

// writeState writes seq's receive state st if the revision of the one in
// the bucket is prevRev (0: none), a compare-and-set write whose answer
// comes through the future.
func (q *queue) writeState(seq uint64, st savedState, prevRev uint64) (jetstream.PubAckFuture, error) {
	return q.svc.js.PublishMsgAsync(&nats.Msg{Subject: q.svc.stateSubject(q.stateKey(seq)), Data: st.value()},
		jetstream.WithExpectLastSequencePerSubject(prevRev))
}

// isConflict reports whether err is a compare-and-set write that lost.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// settle records that seq's receive state, of revision prevRev when the
// index took it, is now of revision rev.
func (q *queue) settle(seq, prevRev, rev uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.msgs[seq]; ok && e.rev == prevRev {
		e.rev = rev
	}
}

// refresh makes seq's entry what the bucket says: the state another
// process wrote. With no state in the bucket and prev given (the entry
// before a receive took it, whose claim lost), the entry is put back as it
// was: the message was deleted (the watch brings its purge marker, or a
// later receive finds it gone from the stream), or the state was read from
// a server that is behind (the bucket's reads go to its stream's leader,
// see store's leaderkv.go, but a leader just elected may not have applied
// every write yet), which must not lose the message.
func (q *queue) refresh(ctx context.Context, seq uint64, prev *entry) {
	kve, err := q.svc.kv.Get(ctx, q.stateKey(seq))
	if err == nil {
		if st, ok := parseState(kve.Value(), kve.Revision()); ok {
			q.applyState(seq, st)
		}
		return
	}
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		q.svc.log.Debug("sqs: read receive state", "queue", q.name, "seq", seq, "err", err)
		return
	}
	if prev == nil {
		return
	}
	if q.markedDeleted(ctx, seq) {
		q.mu.Lock()
		q.deletedLocked(seq, q.svc.now(), q.svc.reapStraggler(), 0)
		q.mu.Unlock()
		return
	}
	q.restore(seq, *prev)
}

// markedDeleted reports whether seq's receive state is a purge marker: the
// message was deleted.
func (q *queue) markedDeleted(ctx context.Context, seq uint64) bool {
	m, err := q.svc.kvStream.GetLastMsgForSubject(ctx, q.svc.stateSubject(q.stateKey(seq)))
	if err != nil {
		return false
	}
	op := m.Header.Get("KV-Operation")
	return op == "PURGE" || op == "DEL"
}

// restore puts seq's entry back as it was before a receive took it (prev),
// unless the index heard of a newer state since.
func (q *queue) restore(seq uint64, prev entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.msgs[seq]
	if !ok || e.rev != prev.rev || e.rec != prev.rec {
		return
	}
	if e.receives > 0 && prev.receives == 0 {
		q.fresh++
	}
	*e = prev
	q.wakeLocked()
}

// setVisible makes a received message visible at visibleAt, as
// ChangeMessageVisibility does: receives must be its latest receive and it
// must be in flight. The state is written with a compare-and-set write; a
// write that loses to another process's is tried again against the state
// that process wrote.
func (q *queue) setVisible(ctx context.Context, now time.Time, seq uint64, receives int32, visibleAt int64) error {
	if q.journaled {
		return q.setVisibleJournaled(ctx, now, seq, receives, visibleAt)
	}
	for attempt := 0; ; attempt++ {
		e, prevRev, err := q.setVisibility(now, seq, receives, visibleAt)
		if err != nil {
			if attempt > 0 || !q.svc.shared {
				return err
			}
			// Another process received it: this index may not have heard yet.
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = q.waitIndexed(wctx, seq)
			cancel()
			q.refresh(ctx, seq, nil)
			continue
		}
		f, err := q.writeState(seq, savedState{receives: e.receives, firstRecv: e.firstRecv, visibleAt: e.visibleAt}, prevRev)
		if err == nil {
			select {
			case ack := <-f.Ok():
				q.settle(seq, prevRev, ack.Sequence)
				return nil
			case err = <-f.Err():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !isConflict(err) {
			return fmt.Errorf("sqs: save receive state of %s/%d: %w", q.name, seq, err)
		}
		q.refresh(ctx, seq, nil)
		if attempt >= 2 {
			return errNotInFlight
		}
	}
}

// notFound handles a claimed message the stream said it does not have. A
// message below the stream's first sequence expired or was purged: it goes.
// Any other was stored, and the index saw it; no process deleted it, or
// the claim would have lost to its purge marker (unless that marker
// expired). JetStream says "not found" for a message it has while a new
// stream leader catches up (a NATS server lost): deleting it then would
// lose it. So the message stays claimed, and is read again a few times over
// ten seconds: found, it is visible again at once; still not found, it
// goes.
func (q *queue) notFound(seq uint64, receives int32) {
	q.svc.log.Debug("sqs: message not found in the stream", "queue", q.name, "seq", seq)
	q.svc.background(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		for i, missing := 0, 0; missing < 5; i++ {
			if i > 0 {
				select {
				case <-time.After(2 * time.Second):
				case <-ctx.Done():
					return // the store is away: the message comes back after its visibility timeout
				}
			}
			if info, err := q.st.Info(ctx); err == nil && streamSeq(seq) < info.State.FirstSeq {
				break
			}
			_, err := q.readMsg(ctx, seq)
			switch {
			case err == nil:
				now := q.svc.now()
				if err := q.setVisible(ctx, now, seq, receives, now.UnixMilli()); err != nil {
					q.svc.log.Debug("sqs: make a message found again visible", "queue", q.name, "seq", seq, "err", err)
				}
				return
			case errors.Is(err, jetstream.ErrMsgNotFound):
				missing++
			}
		}
		if err := q.remove(ctx, seq); err != nil {
			q.svc.log.Debug("sqs: remove a message gone", "queue", q.name, "seq", seq, "err", err)
		}
	})
}

// markerTTL is how long the purge marker that replaces a deleted message's
// receive state stays in the bucket: long enough for every process's
// watch to see it (a process that misses it finds the message gone when
// its visibility timeout ends), short enough that markers do not pile up.
const markerTTL = 5 * time.Minute

// remove deletes a message: its index entry, its receive state, which a
// purge marker replaces (the other processes sharing the queue watch it,
// and drop the message too; it expires by itself), and its stream message:
// a standard queue's leaves with the next purge of the reaper (see
// reap.go), a FIFO queue's at once. On a journaled queue the delete is a
// journal record instead of a marker (see removeJournaled).
func (q *queue) remove(ctx context.Context, seq uint64) error {
	if j, legacy := q.journaledDelete(seq); j {
		var ls []uint64
		if legacy {
			ls = []uint64{seq}
		}
		return q.removeJournaled(ctx, []jentry{{seq: seq}}, ls)
	}
	return q.removeAlone(ctx, seq)
}

// removeAll is remove for the messages seqs whose errs[i] is nil, and sets
// those errs[i]: the deletes a journaled queue journals are one record,
// the others are removed each on its own, at once.
func (q *queue) removeAll(ctx context.Context, seqs []uint64, errs []error) {
	var (
		es     []jentry
		ei     []int
		legacy []uint64
		wg     sync.WaitGroup
	)
	for i, seq := range seqs {
		if errs[i] != nil {
			continue
		}
		if j, l := q.journaledDelete(seq); j {
			es, ei = append(es, jentry{seq: seq}), append(ei, i)
			if l {
				legacy = append(legacy, seq)
			}
			continue
		}
		wg.Go(func() { errs[i] = q.removeAlone(ctx, seq) })
	}
	if len(es) > 0 {
		err := q.removeJournaled(ctx, es, legacy)
		for _, i := range ei {
			errs[i] = err
		}
	}
	wg.Wait()
}

// journaledDelete says whether message seq's delete goes to the journal:
// on a journaled queue, a message the index has, or one of a pack (the
// index has not reached it yet after a restart, or has it no more: its
// pack may hold others, so the delete is journaled for the index to
// find). legacy: it has a receive state in the bucket too.
func (q *queue) journaledDelete(seq uint64) (journaled, legacy bool) {
	if !q.journaled {
		return false, false
	}
	e, ok := q.entryState(seq)
	return ok || seq&packBit != 0, ok && e.rev != 0
}

// removeAlone is remove for a message whose delete is not journaled.
func (q *queue) removeAlone(ctx context.Context, seq uint64) error {
	had := q.forget(seq)
	deferred := had && !q.record().fifo()
	// A pack leaves the stream only through the reaper, once none of its
	// messages is left; a message of one the index does not have is
	// deleted by its marker (shared), which the index takes.
	if !deferred && seq&packBit == 0 {
		if err := q.st.DeleteMsg(ctx, seq); err != nil && !store.MsgGone(err) {
			return fmt.Errorf("sqs: delete message %d of %s: %w", seq, q.name, err)
		}
	}
	if had || q.svc.shared {
		if err := q.purgeState(ctx, seq); err != nil {
			return fmt.Errorf("sqs: remove receive state of %s/%d: %w", q.name, seq, err)
		}
	}
	if deferred {
		q.mu.Lock()
		q.buryLocked(seq, q.svc.now(), q.svc.reapStraggler(), 0)
		q.mu.Unlock()
	}
	return nil
}

// purgeState replaces seq's receive state with a purge marker that expires
// after markerTTL, as KeyValue.Purge does, through the asynchronous
// publisher (lighter than a synchronous publish's own reply).
func (q *queue) purgeState(ctx context.Context, seq uint64) error {
	m := nats.NewMsg(q.svc.stateSubject(q.stateKey(seq)))
	m.Header.Set("KV-Operation", "PURGE")
	m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	f, err := q.svc.js.PublishMsgAsync(m, jetstream.WithMsgTTL(markerTTL))
	if err != nil {
		return err
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// entryState returns the current state of seq.
func (q *queue) entryState(seq uint64) (entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.msgs[seq]
	if !ok {
		return entry{}, false
	}
	return *e, true
}

// setVisibility makes seq visible at visibleAt in the index if its latest
// receive is receives and it is in flight at now. It returns the entry and
// the revision of its state before, or why not.
func (q *queue) setVisibility(now time.Time, seq uint64, receives int32, visibleAt int64) (entry, uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.msgs[seq]
	if !ok {
		return entry{}, 0, errGone
	}
	if e.receives != receives || e.visibleAt <= now.UnixMilli() {
		return entry{}, 0, errNotInFlight
	}
	prev := e.rev
	e.visibleAt = visibleAt
	if visibleAt <= now.UnixMilli() {
		q.wakeLocked()
	}
	return *e, prev, nil
}

var (
	errGone        = errors.New("message gone")
	errNotInFlight = errors.New("message not in flight")
)

// purge deletes the queue's messages below floor (those it had when
// PurgeQueue was called) and their receive states.
func (q *queue) purge(ctx context.Context, floor uint64) error {
	if err := q.st.Purge(ctx, jetstream.WithPurgeSequence(floor)); err != nil {
		return fmt.Errorf("sqs: purge %s: %w", q.name, err)
	}
	q.mu.Lock()
	q.applyFloorLocked(floor)
	q.mu.Unlock()
	return q.svc.forgetStates(ctx, "s."+q.gen+".>")
}

// applyFloorLocked drops the index's messages below floor: they were purged
// (by this process or another).
func (q *queue) applyFloorLocked(floor uint64) {
	if floor <= q.floor {
		return
	}
	for seq, e := range q.msgs {
		if streamSeq(seq) < floor {
			q.dropLocked(seq, e)
		}
	}
	for seq := range q.saved {
		if streamSeq(seq) < floor {
			q.forgetSavedLocked(seq)
		}
	}
	kept := q.order[:0]
	for _, seq := range q.order {
		if streamSeq(seq) >= floor {
			kept = append(kept, seq)
		}
	}
	clear(q.order[len(kept):])
	q.order = kept
	q.floor = floor
	q.seen = max(q.seen, floor-1)
	q.wakeLocked()
}

// dropStates deletes every receive state of the queue (DeleteQueue).
func (q *queue) dropStates(ctx context.Context) {
	_ = q.svc.forgetStates(ctx, "s."+q.gen+".>")
}

// dropExpiredStates deletes the receive states of messages the stream no
// longer has (expired by the retention period, or deleted by a process that
// stopped before it deleted the state).
func (q *queue) dropExpiredStates(ctx context.Context) {
	info, err := q.st.Info(ctx)
	if err != nil {
		return
	}
	q.mu.Lock()
	var gone []uint64
	for seq, st := range q.saved {
		if streamSeq(seq) < info.State.FirstSeq {
			if st.rev != 0 {
				gone = append(gone, seq)
			}
			q.forgetSavedLocked(seq)
		}
	}
	q.mu.Unlock()
	for _, seq := range gone {
		_ = q.svc.forgetStates(ctx, q.stateKey(seq))
	}
}
