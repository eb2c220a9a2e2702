package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/store"
)

// DefaultQueueSize is how many calls may wait for the audit log.
const DefaultQueueSize = 16384

// publishBatch is how many records are in flight to JetStream at once.
const publishBatch = 256

// RecorderStats counts what the recorder did since it started.
type RecorderStats struct {
	Recorded  uint64 // records the audit log acknowledged
	Skipped   uint64 // calls not recorded by design (data events while off)
	Dropped   uint64 // calls lost because the queue was full or the recorder closed
	Rejected  uint64 // records the audit log refused for good (see permanent); each is logged
	Retries   uint64 // publishes retried after a failure
	Queued    int    // calls waiting now
	QueueSize int
}

// Recorder records calls to the audit log. Record never blocks and never
// fails: a call is put on a bounded in-memory queue and a background
// publisher builds its record and appends it to the stream, retrying until
// JetStream has stored it (the record's eventID is the message ID, so a
// retried publish is stored once).
//
// What is guaranteed: every call handed to Record is in the audit log once
// Close has returned without error, unless it was counted in Dropped (the
// queue was full: JetStream was unavailable for longer than the queue
// absorbs; each drop is logged). A call whose record is still queued when the
// process is killed (kill -9, power loss) is lost; the window is the queue's
// latency, normally well under a millisecond. Commit closes that window for
// management calls: it stores the record before the call answers (one
// JetStream round trip), and queues it only when the audit log is slow or
// down. The server records with Commit.
type Recorder struct {
	b   *Builder
	pub *store.Store
	log *slog.Logger

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	queue  chan Call

	// journal, when set, is told of every stored record (its intent can go).
	journal *Journal

	// closing is closed when Close begins: a record that fails once more
	// then is dropped instead of retried until Close's deadline.
	closing chan struct{}

	stop context.CancelFunc // abandons retries (Close's deadline passed)
	done chan struct{}

	recorded, skipped, dropped, rejected, retries atomic.Uint64
	// refusedAtClose counts records dropped because the audit log refused
	// them while closing.
	refusedAtClose atomic.Uint64
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// QueueSize bounds the calls waiting for the audit log (default
	// DefaultQueueSize).
	QueueSize int
	Logger    *slog.Logger
}

// NewRecorder starts a recorder appending the records b builds to the
// audit log (see EnsureStream) through pub. Close it to flush.
func NewRecorder(b *Builder, pub *store.Store, cfg RecorderConfig) *Recorder {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &Recorder{b: b, pub: pub, log: cfg.Logger, queue: make(chan Call, cfg.QueueSize),
		stop: stop, done: make(chan struct{}), closing: make(chan struct{})}
	go r.run(ctx)
	return r
}

// Record queues a call for the audit log and returns at once; false means
// it was dropped (queue full, or the recorder is closed).
func (r *Recorder) Record(c Call) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.drop(c, "recorder closed")
		return false
	}
	select {
	case r.queue <- c:
		return true
	default:
		r.drop(c, "queue full")
		return false
	}
}

func (r *Recorder) drop(c Call, why string) {
	n := r.dropped.Add(1)
	r.log.Error("audit: API call not recorded", "reason", why, "service", c.Service, "operation", c.Operation,
		"request_id", c.RequestID, "dropped_total", n)
}

// reject gives up on a record the audit log refused for good: retrying it
// would loop forever and stall shutdown. Records are bounded (see
// MaxElementsSize) so that this does not happen; if it does, it is loud.
func (r *Recorder) reject(c Call, err error) {
	n := r.rejected.Add(1)
	r.log.Error("audit: the audit log refused an API call's record; the call is not recorded", "service", c.Service,
		"operation", c.Operation, "request_id", c.RequestID, "err", err, "rejected_total", n)
}

// permanent reports whether a publish failed in a way no retry can mend: the
// message is larger than the server or the stream takes, or its subject is
// not valid.
func permanent(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) ||
		errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum)
}

// Observe is an awsapi.Observer: register it with (*awsapi.Server).Observe
// and every routed call is recorded. Calls that reached no operation (an
// unknown X-Amz-Target) are not API calls of any service and are not
// recorded.
func (r *Recorder) Observe(_ context.Context, c *awsapi.Call) {
	if c.Service == "" || c.Operation == "" ||
		c.Err != nil && c.Err.Code == awsapi.CodeUnknownOperationException {
		return
	}
	r.Record(FromAPICall(c))
}

// CommitTimeout bounds how long Commit waits for the audit log before it
// falls back to the queue.
const CommitTimeout = 2 * time.Second

// Commit is an awsapi before-answer observer (register it with
// (*awsapi.Server).ObserveBeforeAnswer instead of Observe): a management
// call's record is stored in the audit log before the call answers, so once
// a client has its answer the record cannot be lost, not even to kill -9.
// It costs the call one JetStream round trip. Recording still never fails
// the call: if the audit log does not take the record within CommitTimeout,
// the record is queued as Record does and the answer goes out. Data events
// (PutEvents, SQS message calls), which are many and fast, are queued
// without waiting.
func (r *Recorder) Commit(ctx context.Context, c *awsapi.Call) {
	if c.Service == "" || c.Operation == "" ||
		c.Err != nil && c.Err.Code == awsapi.CodeUnknownOperationException {
		return
	}
	// A data event while data events are off is not recorded: skip it
	// before FromAPICall marshals its output (PutEvents is the hot path).
	if !r.b.cfg.DataEvents && IsDataEvent(EventSource(c.Service), c.Operation) {
		r.skipped.Add(1)
		return
	}
	r.CommitCall(ctx, committed(c))
}

// committed is the call Commit records: c, with what its intent computed
// (the request converted, the eventID) taken as it is.
func committed(c *awsapi.Call) Call {
	note, _ := c.Intent.(*intentNote)
	if note == nil {
		return FromAPICall(c)
	}
	call := fromAPICall(c, note.eventID)
	call.conv, call.intent = note.conv, &note.parts
	return call
}

// CommitCall is Commit for a call that did not come through awsapi (the S3
// gateway's): a management call's record is stored before it returns (or
// queued after CommitTimeout); a data event is queued.
func (r *Recorder) CommitCall(ctx context.Context, call Call) {
	if IsDataEvent(EventSource(call.Service), call.Operation) {
		r.Record(call)
		return
	}
	r.mu.RLock()
	closed := r.closed
	r.mu.RUnlock()
	if closed {
		r.drop(call, "recorder closed")
		return
	}
	msg, err := r.message(call)
	if err != nil {
		r.log.Error("audit: cannot build record", "operation", call.Operation, "err", err)
		r.dropped.Add(1)
		return
	}
	if msg == nil {
		r.skipped.Add(1)
		return
	}
	_, err = r.pub.PublishWithin(ctx, msg, CommitTimeout)
	switch {
	case err == nil:
		r.storedRecord(call, msg)
	case permanent(err):
		r.reject(call, err)
	default:
		r.log.Warn("audit: audit log slow or unavailable; record queued", "operation", call.Operation, "err", err)
		r.Record(call)
	}
}

// FromAPICall converts awsapi's record of a call.
func FromAPICall(c *awsapi.Call) Call { return fromAPICall(c, EventIDOf(c.Caller.RequestID)) }

// fromAPICall is FromAPICall with the record's eventID known.
func fromAPICall(c *awsapi.Call, eventID string) Call {
	out := Call{
		Service:     c.Service,
		Operation:   c.Operation,
		AccessKeyID: c.Caller.AccessKeyID,
		Identity:    c.Caller.Identity,
		Account:     c.Caller.Account,
		Region:      c.Caller.Region,
		SourceIP:    c.Caller.SourceIP,
		UserAgent:   c.Caller.UserAgent,
		RequestID:   c.Caller.RequestID,
		EventID:     eventID,
		Request:     c.Request,
		Time:        c.Start,
	}
	if p := c.Params(); p != nil {
		out.Request = p
	}
	switch {
	case c.Err != nil:
		out.ErrorCode, out.ErrorMessage = c.Err.Code, c.Err.Message
	case c.Response != nil:
		// The answer the client gets: its escapes may differ from
		// encoding/json's, not its values, which is what the record takes.
		out.Response = c.Response
	case c.Output != nil:
		// Marshalled here, on the request's goroutine: the handler's
		// output may share state that changes once the call is over.
		if b, err := json.Marshal(c.Output); err == nil {
			out.Response = b
		}
	}
	return out
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Recorded: r.recorded.Load(), Skipped: r.skipped.Load(), Dropped: r.dropped.Load(),
		Rejected: r.rejected.Load(), Retries: r.retries.Load(), Queued: len(r.queue), QueueSize: cap(r.queue)}
}

// Close stops taking calls and waits until every queued one is in the audit
// log. If ctx ends first, the records still queued are dropped (counted and
// logged) and ctx's error is returned.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
		close(r.closing)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		if n := r.refusedAtClose.Load(); n > 0 {
			return fmt.Errorf("audit: flush the audit log: %d records refused at shutdown", n)
		}
		return nil
	case <-ctx.Done():
		r.stop()
		<-r.done
		return fmt.Errorf("audit: flush the audit log: %w", ctx.Err())
	}
}

type pending struct {
	call Call
	msg  *nats.Msg
	ack  *store.AckFuture
}

func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	defer r.stop()
	batch := make([]pending, 0, publishBatch)
	for c := range r.queue {
		batch = append(batch[:0], pending{call: c})
	fill:
		for len(batch) < publishBatch {
			select {
			case c, ok := <-r.queue:
				if !ok {
					break fill
				}
				batch = append(batch, pending{call: c})
			default:
				break fill
			}
		}
		r.publish(ctx, batch)
	}
}

// publish appends a batch of records, pipelined, then retries any that
// failed one by one until stored or ctx ends.
func (r *Recorder) publish(ctx context.Context, batch []pending) {
	for i := range batch {
		p := &batch[i]
		msg, err := r.message(p.call)
		if err != nil {
			r.log.Error("audit: cannot build record", "operation", p.call.Operation, "err", err)
			r.dropped.Add(1)
			continue
		}
		if msg == nil {
			r.skipped.Add(1)
			continue
		}
		p.msg = msg
		if ctx.Err() == nil {
			p.ack, err = r.pub.PublishAsync(msg)
			if err != nil {
				p.ack = nil
			}
		}
	}
	// An acknowledgement lost with a broken connection never arrives: the
	// publisher gives it up after its timeout, and the record is published
	// again (same message ID, so stored once).
	for i := range batch {
		p := &batch[i]
		if p.msg == nil {
			continue
		}
		if p.ack != nil {
			if _, err := p.ack.Wait(ctx); err == nil {
				r.storedRecord(p.call, p.msg)
				continue
			}
		}
		r.publishSync(ctx, p)
	}
}

// publishSync retries one record with backoff until it is stored, refused for
// good (then it is rejected), or ctx ends (then it is dropped).
func (r *Recorder) publishSync(ctx context.Context, p *pending) {
	backoff := 50 * time.Millisecond
	for {
		if ctx.Err() != nil {
			r.drop(p.call, "shutdown before the audit log was reachable")
			return
		}
		r.retries.Add(1)
		_, err := r.pub.PublishWithin(ctx, p.msg, 5*time.Second)
		if err == nil {
			r.storedRecord(p.call, p.msg)
			return
		}
		if permanent(err) {
			r.reject(p.call, err)
			return
		}
		select {
		case <-r.closing:
			// Shutting down with a store that refuses writes (full, or
			// down): waiting would only hold the shutdown up. A journaled
			// call's intent is still there for the next start's sweep.
			r.refusedAtClose.Add(1)
			r.drop(p.call, fmt.Sprintf("the audit log refused it at shutdown: %v", err))
			return
		default:
		}
		r.log.Warn("audit: audit log unavailable; retrying", "operation", p.call.Operation, "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		case <-r.closing:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// storedRecord counts a record the audit log acknowledged and tells the
// journal, which deletes the call's intent.
func (r *Recorder) storedRecord(c Call, msg *nats.Msg) {
	r.recorded.Add(1)
	// A call with an intent is journaled; its record's message ID is
	// its eventID.
	if r.journal != nil && (c.intent != nil || Journaled(c.Service, c.Operation)) {
		id := c.EventID
		if id == "" {
			id = msg.Header.Get(jetstream.MsgIDHeader)
		}
		r.journal.storedCall(&c, id)
	}
}

// message builds the record of c as a stream message; nil when the call is
// not recorded.
func (r *Recorder) message(c Call) (*nats.Msg, error) {
	if c.Response == nil && c.Output != nil {
		b, err := json.Marshal(c.Output)
		if err != nil {
			return nil, fmt.Errorf("marshal output: %w", err)
		}
		c.Response = b
	}
	if p := c.intent; p != nil && c.AdditionalEventData == nil && !IsAuthenticationFailure(c.ErrorCode) {
		// Its intent's record with its outcome put in: what Build would
		// make of it (FuzzRecordFromIntent checks it).
		return recordMessage(p.subject, r.b.outcome(p, c), c.EventID), nil
	}
	var rec Record
	if _, ok := r.b.build(&rec, c); !ok {
		return nil, nil
	}
	data, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	return recordMessage(Subject(&rec), data, rec.EventID), nil
}

// recordMessage is the audit-log message of a record: its eventID is the
// message ID, so that a record published twice is stored once.
func recordMessage(subject string, data []byte, eventID string) *nats.Msg {
	// The header's name is canonical already: no Header.Set.
	return &nats.Msg{Subject: subject, Data: data, Header: nats.Header{jetstream.MsgIDHeader: {eventID}}}
}
