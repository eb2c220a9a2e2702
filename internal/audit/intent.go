package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/store"
)

// The intent journal makes "no API call takes effect without its record"
// hold through crashes. A record is stored after its call ran (it holds the
// outcome), so a process killed between the two would leave a change with no
// record. Therefore, before a management call that can change something
// runs, its record as it would be with its outcome unknown
// (additionalEventData saying so) is stored in the journal, a stream of its
// own; the call's own record is that record with the outcome put in, and
// once it is in the audit log, the intent is deleted. A process that dies
// in between leaves the intent behind, and a sweep stores its record: same
// eventID (derived from the request ID, see EventIDOf), so a record stored
// after all is not stored twice. A call whose intent cannot be stored is
// refused and does not run. The intents of calls made at once are stored
// as one journal message (see Journal.storeIntent), deleted once all their
// records are stored; a sweep reads such a message intent by intent.
const (
	// IntentStreamName is the journal's stream.
	IntentStreamName = "AUDIT_INTENTS"
	// intentSubjectPrefix starts every intent's subject:
	// conveyor.auditintent.<eventID>.
	intentSubjectPrefix = "conveyor.auditintent"
	// intentMaxAge bounds how long an intent is kept; sweeps take them far
	// sooner.
	intentMaxAge = 7 * 24 * time.Hour
	// IntentTimeout bounds the wait for the journal before a call is
	// refused.
	IntentTimeout = 2 * time.Second
	// DefaultIntentGrace is how old an intent must be before a sweep takes
	// it for the intent of a call whose process died, when other processes
	// may share the store (their calls in flight have intents too).
	DefaultIntentGrace = time.Minute
	// sweepEvery is how often the journal is swept.
	sweepEvery = 30 * time.Second
	// forgetEvery is how often the intents of stored records are deleted.
	forgetEvery = 20 * time.Millisecond
	// maxForget bounds the intents waiting to be deleted; more are left to
	// a sweep, which finds their records and deletes them.
	maxForget = 4096
)

// outcomeUnknown is the additionalEventData of a record recovered from an
// intent.
var outcomeUnknown = json.RawMessage(`{"conveyorOutcome":"unknown","reason":"Conveyor stopped after it received this call and before the call answered: the call may or may not have taken effect."}`)

// Journaled says whether calls of an operation are journaled: management
// calls that can change something (not read-only, not data events).
func Journaled(service, op string) bool {
	src := EventSource(service)
	return !IsDataEvent(src, op) && !IsReadOnly(src, op)
}

// Journal is the intent journal (see IntentStreamName).
type Journal struct {
	js  jetstream.JetStream
	pub *store.Store
	st  jetstream.Stream
	rec *Recorder
	ix  *Index
	log *slog.Logger

	// forget holds the eventIDs of stored records whose intents can go,
	// until run deletes them (every forgetEvery): the call's path only
	// appends to it, and wakes no goroutine.
	forgetMu sync.Mutex
	forget   []string

	recovered atomic.Uint64

	// The intents of calls made at once are stored together (see
	// storeIntent): pending are those waiting; leading is whether one of
	// their calls is storing a batch.
	wmu     sync.Mutex
	pending []*intentNote
	leading bool
}

// IntentStreamConfig is the journal's stream configuration.
func IntentStreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        IntentStreamName,
		Description: "Conveyor audit intents: calls received and not yet recorded",
		Subjects:    []string{intentSubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      intentMaxAge,
		Replicas:    max(replicas, 1),
		Discard:     jetstream.DiscardOld,
	}
}

// openJournal creates or updates the journal's stream.
func openJournal(ctx context.Context, s *store.Store, replicas int, rec *Recorder, ix *Index, log *slog.Logger) (*Journal, error) {
	js := s.JetStream()
	st, err := js.CreateOrUpdateStream(ctx, IntentStreamConfig(replicas))
	if err != nil {
		return nil, fmt.Errorf("audit: create stream %s: %w", IntentStreamName, err)
	}
	return &Journal{js: js, pub: s, st: st, rec: rec, ix: ix, log: log}, nil
}

// Intend is an awsapi before-invoke function (register it with
// (*awsapi.Server).BeforeInvoke): it stores the intent of a journaled call
// before the call runs, and refuses the call when it cannot.
func (j *Journal) Intend(ctx context.Context, c *awsapi.Call) error {
	// Checked before FromAPICall: most calls (PutEvents) are not journaled.
	if c.Service == "" || c.Operation == "" || !Journaled(c.Service, c.Operation) {
		return nil
	}
	note, err := j.intendJournaled(ctx, FromAPICall(c), true)
	if err == nil {
		c.Intent = note
	}
	return err
}

// IntendCall is Intend for a call that did not come through awsapi; call
// must have the EventID its record will have. Its intent is stored alone
// (its record, stored with CommitCall, deletes it by that eventID).
func (j *Journal) IntendCall(ctx context.Context, call Call) error {
	if !Journaled(call.Service, call.Operation) {
		return nil
	}
	_, err := j.intendJournaled(ctx, call, false)
	return err
}

// intentNote is what storing a call's intent computed that its record
// takes as it is (see Recorder.Commit): the record's eventID, the
// request's conversion, and the intent's record. awsapi keeps it in the
// call (Call.Intent).
type intentNote struct {
	eventID string
	conv    *conversion
	parts   recordParts
	// done tells a call waiting in storeIntent its intent's fate.
	done chan intentStored
}

// intentStored is what storeIntent tells a waiting call: its intent is
// stored (or why not), or lead, to store the next batch.
type intentStored struct {
	err  error
	lead bool
}

// intentBatch is the intents of calls stored as one journal message (a
// store.AppendBatch of them). Its subject is its first call's; it is
// deleted once the records of all its calls are stored.
type intentBatch struct {
	eventID string       // its first call's: its subject's
	left    atomic.Int32 // its calls whose records are not stored yet
}

// intendJournaled stores the intent of call, a journaled call: together
// with those of other calls made at once (see storeIntent) when together
// (the call keeps the note, which its record needs to delete the batch),
// else alone.
func (j *Journal) intendJournaled(ctx context.Context, call Call, together bool) (*intentNote, error) {
	if call.EventID == "" {
		return nil, fmt.Errorf("audit: intent of %s: no event ID", call.Operation)
	}
	if call.Parameters != nil && !json.Valid(call.Parameters) {
		return nil, fmt.Errorf("audit: intent of %s: its parameters are not JSON", call.Operation)
	}
	note := j.intentOf(call)
	if note == nil {
		return nil, nil // not recorded at all
	}
	save := j.storeIntent
	if !together {
		save = func(ctx context.Context, note *intentNote) error {
			return j.publishIntents(ctx, []*intentNote{note})
		}
	}
	if err := save(ctx, note); err != nil {
		j.log.Error("audit: cannot store the intent of a call; the call is refused", "operation", call.Operation,
			"request_id", call.RequestID, "err", err)
		return nil, fmt.Errorf("audit: store the intent of %s: %w", call.Operation, err)
	}
	return note, nil
}

// maxIntentBatch bounds the intents stored as one journal message.
const maxIntentBatch = 64

// storeIntent stores note's intent in the journal and returns once it is
// stored. The intents of calls made at once are stored together: the call
// that finds no store in progress leads, storing its intent with those
// waiting (up to maxIntentBatch, within the store's message size), and
// once the store answers it tells them, and hands the lead to the first
// call that came meanwhile. One JetStream write and one acknowledgement
// serve them all, on the calls' own goroutines: no writer goroutine
// between a call and the journal.
func (j *Journal) storeIntent(ctx context.Context, note *intentNote) error {
	note.done = make(chan intentStored, 1)
	j.wmu.Lock()
	j.pending = append(j.pending, note)
	if j.leading {
		j.wmu.Unlock()
		// The leader's store is bounded by IntentTimeout: no wait of our
		// own, and the lead, once handed, is always taken.
		if r := <-note.done; !r.lead {
			return r.err
		}
		j.wmu.Lock()
	}
	j.leading = true
	// note leads: it is the first of j.pending.
	n, size, limit := 0, 0, j.pub.BatchLimit()
	for n < len(j.pending) && n < maxIntentBatch {
		size += len(j.pending[n].parts.data) + binary.MaxVarintLen32
		if n > 0 && size > limit {
			break
		}
		n++
	}
	batch := slices.Clone(j.pending[:n])
	j.pending = slices.Delete(j.pending, 0, n)
	j.wmu.Unlock()

	// The batch is stored whatever becomes of the leader's own call.
	err := j.publishIntents(context.WithoutCancel(ctx), batch)
	for _, other := range batch[1:] {
		other.done <- intentStored{err: err}
	}
	j.wmu.Lock()
	if len(j.pending) > 0 {
		j.pending[0].done <- intentStored{lead: true}
	} else {
		j.leading = false
	}
	j.wmu.Unlock()
	return err
}

// publishIntents stores the intents of batch as one journal message: an
// intent alone as it is, on its call's subject; several as a batch
// (store.AppendBatch) on the first one's.
func (j *Journal) publishIntents(ctx context.Context, batch []*intentNote) error {
	msg := &nats.Msg{Subject: intentSubjectPrefix + "." + batch[0].eventID} // no headers
	if len(batch) == 1 {
		msg.Data = batch[0].parts.data
	} else {
		b := &intentBatch{eventID: batch[0].eventID}
		b.left.Store(int32(len(batch)))
		items := make([][]byte, len(batch))
		for i, note := range batch {
			items[i] = note.parts.data
			note.parts.batch = b
		}
		msg.Data = store.AppendBatch(nil, items)
	}
	_, err := j.pub.PublishWithin(ctx, msg, IntentTimeout)
	return err
}

// recordParts is what the journal keeps of a call: the record a sweep
// stores if the call's process dies before its own record is stored
// (additionalEventData saying that its outcome is unknown), with where in
// it the outcome goes. Its parameters and resources are as its record has
// them (redacted, within the record's bounds), so that an intent is as
// small as a record whatever the request held, and holds no secret. Once
// the call ran, its record is these bytes with its outcome put in (see
// Builder.outcome), not built again.
type recordParts struct {
	data []byte
	recordMarks
	subject string // the record's audit-log subject
	// batch is the journal message the intent was stored in with others;
	// nil when alone.
	batch *intentBatch
}

// intentOf builds the intent of a call; nil for a call that is not
// recorded at all.
func (j *Journal) intentOf(call Call) *intentNote {
	// Before the call ran: no outcome.
	call.Response, call.Output, call.ErrorCode, call.ErrorMessage = nil, nil, "", ""
	var rec Record
	conv, ok := j.rec.b.build(&rec, call)
	if !ok {
		return nil
	}
	rec.AdditionalEventData = outcomeUnknown
	note := &intentNote{eventID: call.EventID, conv: conv, parts: recordParts{subject: Subject(&rec)}}
	p := &note.parts
	p.data = rec.appendJSON(make([]byte, 0, 1024+len(rec.RequestParameters)), &p.recordMarks)
	return note
}

// outcome is the record of call c made from its intent's record p: p's
// bytes with c's error, response elements and resources put in, as Build
// makes them (c is a journaled call, neither read-only nor a data event,
// not refused for its credentials, without additionalEventData of its
// own).
func (b *Builder) outcome(p *recordParts, c Call) []byte {
	var resp json.RawMessage
	var named members // the response's members that name resources
	if c.ErrorCode == "" {
		// An output that is not JSON is recorded as none.
		capture := memberCapture{m: &named}
		var respJSON bool
		resp, respJSON, _ = b.writers.recordJSON(c.Response, false, &capture)
		if len(resp) > MaxElementsSize {
			resp = Omitted
		}
		if !respJSON {
			named = responseMembers(c.Response, false)
		}
	}
	region, account := b.where(c)
	resources, _ := b.requestPart(c, EventSource(c.Service), region, account, false, false, &named)
	d := p.data
	out := make([]byte, 0, len(d)+len(resp)+len(c.ErrorCode)+len(c.ErrorMessage)+256)
	out = append(out, d[:p.outcome]...)
	out = appendOutcome(out, cut(c.ErrorCode), cut(c.ErrorMessage))
	out = append(out, d[p.outcome:p.response]...)
	out = append(out, `,"responseElements":`...)
	out = appendConverted(out, resp)
	out = append(out, d[p.ids:p.resources]...)
	out = appendResources(out, resources)
	return append(out, d[p.tail:]...)
}

// storedCall tells the journal that the record of call c is in the audit
// log: its intent can go, or, when stored with others, once theirs are
// stored too.
func (j *Journal) storedCall(c *Call, eventID string) {
	if p := c.intent; p != nil && p.batch != nil {
		if p.batch.left.Add(-1) == 0 {
			j.stored(p.batch.eventID)
		}
		return
	}
	j.stored(eventID)
}

// stored tells the journal that the intent stored under eventID's subject
// can go. It never blocks: when too many deletions wait, the intent is
// left for a sweep, which finds the record and deletes it.
func (j *Journal) stored(eventID string) {
	j.forgetMu.Lock()
	if len(j.forget) < maxForget {
		j.forget = append(j.forget, eventID)
	}
	j.forgetMu.Unlock()
}

// deleteStored deletes the intents of the records stored since it last ran.
func (j *Journal) deleteStored(ctx context.Context, ids []string) []string {
	j.forgetMu.Lock()
	ids, j.forget = j.forget, ids[:0]
	j.forgetMu.Unlock()
	for _, id := range ids {
		if err := j.st.Purge(ctx, jetstream.WithPurgeSubject(intentSubjectPrefix+"."+id)); err != nil && ctx.Err() == nil {
			j.log.Warn("audit: delete an intent (a sweep will)", "event_id", id, "err", err)
		}
	}
	return ids
}

// run deletes the intents of stored records and sweeps now and then, until
// ctx ends. The first sweep runs at once and takes every intent older than
// opened, when the journal opened, if exclusive (no other process shares the
// store, so every intent stored before is a dead call's; not the time run
// starts: this process's calls may have stored theirs by then), else those
// older than grace.
func (j *Journal) run(ctx context.Context, opened time.Time, exclusive bool, grace time.Duration) {
	first := time.Now().Add(-grace)
	if exclusive {
		first = opened
	}
	j.sweepLogged(ctx, first)
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	forget := time.NewTicker(forgetEvery)
	defer forget.Stop()
	var spare []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-forget.C:
			spare = j.deleteStored(ctx, spare)
		case <-tick.C:
			j.sweepLogged(ctx, time.Now().Add(-grace))
		}
	}
}

func (j *Journal) sweepLogged(ctx context.Context, cutoff time.Time) {
	n, err := j.Sweep(ctx, cutoff)
	if err != nil && ctx.Err() == nil {
		j.log.Warn("audit: sweep the intent journal", "err", err)
	}
	if n > 0 {
		j.log.Warn("audit: recorded calls whose process stopped before they answered", "calls", n)
	}
}

// Sweep turns every intent stored before cutoff into its call's record,
// unless the record is in the audit log already, and deletes the intent. It
// returns how many records it stored.
func (j *Journal) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	info, err := j.st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: journal info: %w", err)
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	// The index must hold every record stored so far, so that a record
	// that exists is found.
	if err := j.catchUp(ctx); err != nil {
		return 0, err
	}
	n := 0
	for seq := info.State.FirstSeq; ; {
		m, err := j.st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(intentSubjectPrefix+".>"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("audit: read intent at %d: %w", seq, err)
		}
		if !m.Time.Before(cutoff) {
			return n, nil
		}
		added, err := j.recoverIntent(ctx, m)
		n += added
		if err != nil {
			return n, err
		}
		seq = m.Sequence + 1
	}
}

// catchUp waits until the index has applied the audit log's last
// management record.
func (j *Journal) catchUp(ctx context.Context) error {
	st, err := j.js.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("audit: audit log: %w", err)
	}
	last, err := st.GetLastMsgForSubject(ctx, ManagementSubjects)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: last record: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := j.ix.WaitFor(wctx, last.Sequence); err != nil {
		return fmt.Errorf("audit: index catching up to %d: %w", last.Sequence, err)
	}
	return nil
}

// recoverIntent stores the record of each intent of journal message m
// (one, or a batch) unless it exists, then deletes m. It returns how many
// records it stored.
func (j *Journal) recoverIntent(ctx context.Context, m *jetstream.RawStreamMsg) (int, error) {
	added := 0
	for item := range store.Batched(m.Data) {
		ok, err := j.recoverOne(ctx, m.Sequence, item)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	if err := j.st.DeleteMsg(ctx, m.Sequence); err != nil && !store.MsgGone(err) {
		return added, fmt.Errorf("audit: delete intent %d: %w", m.Sequence, err)
	}
	return added, nil
}

// recoverOne stores the record of one intent (data) of the journal message
// at seq unless it exists.
func (j *Journal) recoverOne(ctx context.Context, seq uint64, data []byte) (bool, error) {
	added := false
	if msg, call, t, err := j.intentRecord(data); err != nil {
		j.log.Error("audit: an unreadable intent is dropped", "seq", seq, "err", err)
	} else {
		q := Query{Attribute: AttrEventID, Value: call.EventID, Limit: 1}
		if !t.IsZero() {
			// The record's eventTime is the call's, to the second.
			q.Start, q.End = t.Add(-time.Minute), t.Add(time.Minute)
		}
		page, err := j.ix.Lookup(ctx, q)
		if err != nil {
			return false, fmt.Errorf("audit: look up %s: %w", call.EventID, err)
		}
		if len(page.Results) == 0 && msg != nil {
			_, err = j.pub.PublishWithin(ctx, msg, 10*time.Second)
			switch {
			case err == nil:
				added = true
				j.recovered.Add(1)
			case permanent(err):
				// It can never be stored: counted and logged, and the
				// intent goes (else it would stop every sweep here).
				j.rec.reject(call, err)
			default:
				return false, fmt.Errorf("audit: store the record of intent %s: %w", call.EventID, err)
			}
		}
	}
	return added, nil
}

// intentRecord reads an intent: the record it stores, as an audit-log
// message (nil for a call that is not recorded), and the call's names and
// time. An intent is a record (see recordParts); one stored by a Conveyor
// from before is a Call, as encoding/json writes it, whose record is built.
func (j *Journal) intentRecord(data []byte) (*nats.Msg, Call, time.Time, error) {
	if bytes.HasPrefix(data, []byte(`{"eventVersion":`)) {
		rec, err := ParseRecord(data)
		if err != nil {
			return nil, Call{}, time.Time{}, err
		}
		if rec.EventID == "" {
			return nil, Call{}, time.Time{}, errors.New("audit: an intent's record without an eventID")
		}
		msg := recordMessage(Subject(rec), data, rec.EventID)
		call := Call{Service: rec.Service(), Operation: rec.EventName, RequestID: rec.RequestID, EventID: rec.EventID}
		return msg, call, rec.Time(), nil
	}
	var call Call
	if err := json.Unmarshal(data, &call); err != nil {
		return nil, Call{}, time.Time{}, fmt.Errorf("audit: read intent: %w", err)
	}
	if call.EventID == "" {
		return nil, Call{}, time.Time{}, errors.New("audit: an intent without an eventID")
	}
	call.AdditionalEventData = outcomeUnknown
	msg, err := j.rec.message(call)
	if err != nil {
		return nil, Call{}, time.Time{}, fmt.Errorf("audit: record of intent %s: %w", call.EventID, err)
	}
	return msg, call, call.Time, nil
}

// Recovered returns how many records sweeps stored from intents.
func (j *Journal) Recovered() uint64 { return j.recovered.Load() }
