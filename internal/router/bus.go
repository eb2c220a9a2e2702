package router

import (
	"github.com/conveyor/conveyor/internal/store"

	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/pattern"
	"github.com/conveyor/conveyor/transform"
)

// bus is the routing state of one event bus: its matcher, its rules, and the
// loop that consumes its stream.
type bus struct {
	r       *Router
	name    string
	matcher *pattern.Matcher
	matched prometheus.Counter
	// exists is set once the catalog has reported the bus itself (rules can
	// arrive first in a snapshot). Guarded by Router.mu.
	exists bool

	mu    sync.RWMutex
	rules map[string]*rule

	// unsettled holds the routed events whose deliveries may still run,
	// for heartbeat, which reports their progress to the stream; settled
	// ones are swept out as it goes.
	unsettledMu sync.Mutex
	unsettled   []*routedEvent
	// kick wakes heartbeat when events arrive in an empty unsettled list.
	kick chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// rule is a rule as routing needs it.
type rule struct {
	name, arn     string
	pattern       string
	enabled       bool // the rule's state lets events through (it is in the matcher if it has a pattern)
	managed       bool // a service's rule (an archive's): replays skip it
	allCloudTrail bool
	triggered     prometheus.Counter
	targets       []*target
}

// target is a rule target as routing needs it.
type target struct {
	id, arn   string
	transform *transform.Transform
	retry     delivery.RetryPolicy
	dlq       string
	http      *delivery.HTTPParameters
	group     string // SqsParameters.MessageGroupId
}

func newBus(r *Router, name string) *bus {
	return &bus{
		r:       r,
		name:    name,
		matcher: pattern.New(r.cfg.PatternOptions...),
		matched: r.m.matched.WithLabelValues(name),
		rules:   make(map[string]*rule),
		done:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
	}
}

// setRule installs nr as rule name (nil deletes it) and updates the matcher.
func (b *bus) setRule(name string, nr *rule) {
	if nr != nil && nr.enabled && nr.pattern != "" {
		if err := b.matcher.Add(name, []byte(nr.pattern)); err != nil {
			b.r.log.Error("stored event pattern does not compile; rule not matched", "bus", b.name, "rule", name, "err", err)
			b.matcher.Delete(name)
		}
	} else {
		b.matcher.Delete(name)
	}
	b.mu.Lock()
	if nr == nil {
		delete(b.rules, name)
	} else {
		b.rules[name] = nr
	}
	b.mu.Unlock()
}

func (b *bus) start() {
	ctx, cancel := context.WithCancel(b.r.ctx)
	b.cancel = cancel
	b.r.wg.Add(1)
	go func() {
		defer b.r.wg.Done()
		defer close(b.done)
		b.run(ctx)
	}()
}

func (b *bus) stop() {
	b.cancel()
	<-b.done
}

// run consumes the bus's stream until ctx ends, retrying when the stream or
// the consumer cannot be set up.
func (b *bus) run(ctx context.Context) {
	store.Restart(ctx, b.r.log.With("bus", b.name), "routing", b.consume)
}

func (b *bus) consume(ctx context.Context) error {
	st, err := b.r.cfg.Store.EnsureBus(ctx, b.name)
	if err != nil {
		return err
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:     consumerName,
		Description: "Conveyor router: matches events against the bus's rules",
		AckPolicy:   jetstream.AckExplicitPolicy,
		// An event stays unacknowledged while its direct deliveries run,
		// which may take longer: heartbeat reports their progress.
		AckWait: b.r.cfg.AckWait,
		// Events wait here for their direct deliveries: a target that hangs
		// holds up to a few hundred (delivery.Config.DirectMaxInFlight +
		// DirectQueue) until it is found slow; room for a dozen such.
		MaxAckPending: 16 * b.r.cfg.Batch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * b.r.cfg.Batch))
	if err != nil {
		return err
	}
	defer it.Stop()
	msgs := make(chan jetstream.Msg, b.r.cfg.Batch)
	errc := make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			m, err := it.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					errc <- err
				}
				return
			}
			msgs <- m
		}
	}()
	stopIt := context.AfterFunc(ctx, it.Stop)
	defer stopIt()
	hctx, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go b.heartbeat(hctx)

	batch := make([]jetstream.Msg, 0, b.r.cfg.Batch)
	var scratch routeScratch
	for {
		m, ok := <-msgs
		if !ok {
			select {
			case err := <-errc:
				return err
			default:
				return ctx.Err()
			}
		}
		batch = append(batch[:0], m)
	fill:
		for len(batch) < cap(batch) {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		b.route(ctx, batch, &scratch)
	}
}

// routeScratch is reused from batch to batch.
type routeScratch struct {
	ids []string
	// jobs are the batch's deliveries; owner[i] is the index in the batch
	// of the event that jobs[i] delivers.
	jobs        []*delivery.Job
	owner       []int
	stored      []*delivery.Job
	storedOwner []int
	events      []*routedEvent
	// settlers[i] settles jobs[i]; taken[i] is whether the runner took it
	// for a direct attempt.
	settlers []delivery.Settler
	taken    []bool
}

// routedEvent is a bus message whose deliveries are being settled: it is
// acknowledged once every one of them is settled (delivered directly, or
// stored in the delivery stream), and handed back to the bus when one could
// not be.
type routedEvent struct {
	b   *bus
	msg jetstream.Msg
	// left counts the deliveries not settled yet, plus one that route
	// holds until it has dispatched them all.
	left   atomic.Int32
	failed atomic.Bool
	// beat is when the event was routed or its progress last reported
	// (guarded by bus.unsettledMu).
	beat time.Time
}

// Settled implements delivery.Settler.
func (e *routedEvent) Settled(err error) {
	if err != nil {
		if !errors.Is(err, delivery.ErrDirectStopped) {
			e.b.r.log.Error("settling a delivery; event will be routed again", "bus", e.b.name, "err", err)
		}
		e.failed.Store(true)
	}
	if e.left.Add(-1) == 0 {
		e.finish()
	}
}

// settled reports whether every delivery of e is settled (it is being or
// has been acknowledged or handed back).
func (e *routedEvent) settled() bool { return e.left.Load() == 0 }

func (e *routedEvent) finish() {
	if e.failed.Load() {
		e.b.r.m.routeFailures.WithLabelValues(e.b.name).Inc()
		var routed uint64 = 1
		if md, err := e.msg.Metadata(); err == nil {
			routed = md.NumDelivered
		}
		_ = e.msg.NakWithDelay(rerouteDelay(routed))
		return
	}
	if err := e.msg.Ack(); err != nil {
		e.b.r.log.Warn("acknowledging a routed event", "bus", e.b.name, "err", err)
	}
}

// rerouteDelay is how long an event whose deliveries could not all be
// settled (a job not stored: the store is full or down) waits before it is
// routed again: one second, doubling with each routing up to a minute, so
// that a store that stays full does not make the targets that did get the
// event receive it again every second.
// routed is how many times the event has been routed so far.
func rerouteDelay(routed uint64) time.Duration {
	d := time.Second
	for n := routed; n > 1 && d < time.Minute; n-- {
		d *= 2
	}
	return min(d, time.Minute)
}

// sweepEvery is how often heartbeat looks at the unsettled events.
const sweepEvery = 100 * time.Millisecond

// heartbeat reports the progress of the routed events whose deliveries
// still run, a third of the ack wait after they were routed and as often
// again, so that the stream does not hand them out a second time while
// they are being delivered; and it drops settled events from the list.
// It sleeps while no event is unsettled.
func (b *bus) heartbeat(ctx context.Context) {
	t := time.NewTimer(sweepEvery)
	defer t.Stop()
	every := b.r.cfg.AckWait / 3
	var beat []*routedEvent
	idle := false
	for {
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-b.kick:
			}
			t.Reset(sweepEvery)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		beat = beat[:0]
		b.unsettledMu.Lock()
		kept := b.unsettled[:0]
		for _, e := range b.unsettled {
			if e.settled() {
				continue
			}
			kept = append(kept, e)
			if now.Sub(e.beat) >= every {
				e.beat = now
				beat = append(beat, e)
			}
		}
		clear(b.unsettled[len(kept):])
		b.unsettled = kept
		idle = len(kept) == 0
		b.unsettledMu.Unlock()
		if !idle {
			t.Reset(sweepEvery)
		}
		for _, e := range beat {
			if err := e.msg.InProgress(); err != nil && !e.settled() {
				b.r.log.Warn("reporting a routed event's progress", "bus", b.name, "err", err)
			}
		}
		clear(beat)
	}
}

// route matches a batch of events and settles their deliveries: each is
// tried directly when its target is healthy and has room
// (delivery.Runner.TryDirectAll), the others are stored in the delivery stream
// together. An event is acknowledged once all its deliveries are settled;
// if one cannot be (the jobs cannot be stored), the event is handed back to
// the stream to be routed again a little later. The bus loop never waits
// for a target.
func (b *bus) route(ctx context.Context, batch []jetstream.Msg, s *routeScratch) {
	s.jobs, s.owner, s.stored, s.storedOwner = s.jobs[:0], s.owner[:0], s.stored[:0], s.storedOwner[:0]
	b.mu.RLock()
	for i, m := range batch {
		n := len(s.jobs)
		b.jobsFor(m, s)
		for range len(s.jobs) - n {
			s.owner = append(s.owner, i)
		}
	}
	b.mu.RUnlock()
	s.events = slices.Grow(s.events[:0], len(batch))[:len(batch)]
	clear(s.events)
	s.settlers = slices.Grow(s.settlers[:0], len(s.jobs))[:len(s.jobs)]
	for i := range s.jobs {
		e := s.events[s.owner[i]]
		if e == nil {
			e = &routedEvent{b: b, msg: batch[s.owner[i]]}
			e.left.Store(1)
			s.events[s.owner[i]] = e
		}
		e.left.Add(1)
		s.settlers[i] = e
	}
	s.taken = slices.Grow(s.taken[:0], len(s.jobs))[:len(s.jobs)]
	b.r.cfg.Runner.TryDirectAll(s.jobs, s.settlers, s.taken)
	for i, j := range s.jobs {
		if !s.taken[i] {
			s.events[s.owner[i]].left.Add(-1)
			s.stored = append(s.stored, j)
			s.storedOwner = append(s.storedOwner, s.owner[i])
		}
	}
	clear(s.settlers)
	if len(s.stored) > 0 {
		if err := b.r.cfg.Queue.Enqueue(ctx, s.stored...); err != nil {
			b.r.log.Error("storing delivery jobs; events will be routed again", "bus", b.name, "jobs", len(s.stored), "err", err)
			for _, i := range s.storedOwner {
				s.events[i].failed.Store(true)
			}
		}
	}
	now := time.Now()
	b.unsettledMu.Lock()
	wasEmpty := len(b.unsettled) == 0
	for _, e := range s.events {
		if e != nil {
			e.beat = now
			b.unsettled = append(b.unsettled, e)
		}
	}
	if wasEmpty && len(b.unsettled) > 0 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	b.unsettledMu.Unlock()
	for i, m := range batch {
		e := s.events[i]
		if e == nil {
			// No delivery: done with it.
			if err := m.Ack(); err != nil {
				b.r.log.Warn("acknowledging a routed event", "bus", b.name, "err", err)
			}
			continue
		}
		if e.left.Add(-1) == 0 {
			e.finish()
		}
	}
	clear(s.events)
}

// jobsFor appends to s.jobs the deliveries the events of bus message m
// cause (one event, or a PutEvents call's batch: store.Batched). The
// caller holds b.mu for reading.
func (b *bus) jobsFor(m jetstream.Msg, s *routeScratch) {
	data := m.Data()
	var md metadata
	k := -1 // a message of one event is not a batch: it may carry headers
	if store.IsBatch(data) {
		k = 0
	}
	for ev := range store.Batched(data) {
		b.eventJobs(m, &md, ev, k, s)
		if k >= 0 {
			k++
		}
	}
	// Read when an event matched (never only for this count).
	if md.md != nil && md.md.NumDelivered > 1 {
		b.r.m.rerouted.WithLabelValues(b.name).Inc()
	}
}

// metadata is a bus message's JetStream metadata, read once for all its
// events, and only if one of them matches a rule.
type metadata struct {
	read bool
	md   *jetstream.MsgMetadata
}

func (c *metadata) of(m jetstream.Msg) *jetstream.MsgMetadata {
	if !c.read {
		c.read = true
		c.md, _ = m.Metadata()
	}
	return c.md
}

// eventJobs appends to s.jobs the deliveries of event data, the k-th event
// of bus message m's batch (-1: m holds data alone).
func (b *bus) eventJobs(m jetstream.Msg, mc *metadata, data []byte, k int, s *routeScratch) {
	var err error
	s.ids, err = b.matcher.AppendMatch(s.ids[:0], data)
	if err != nil {
		b.r.log.Error("an event on the bus is not valid JSON; dropped", "bus", b.name, "err", err)
		b.r.m.routeFailures.WithLabelValues(b.name).Inc()
		return
	}
	if len(s.ids) == 0 {
		return
	}
	var eventID string
	readOnly := false
	if k < 0 {
		h := m.Headers()
		readOnly = h.Get(HeaderReadOnlyAPICall) != ""
		eventID = h.Get(jetstream.MsgIDHeader)
	}
	if eventID == "" {
		eventID = eventIDOf(data)
	}
	var ingested time.Time
	md := mc.of(m)
	if md != nil {
		ingested = md.Timestamp
	}
	if eventID == "" && md != nil {
		// An envelope without an id (not one PutEvents stored): its place
		// on the bus names its jobs.
		eventID = "seq-" + strconv.FormatUint(md.Sequence.Stream, 10)
		if k >= 0 {
			eventID += "-" + strconv.Itoa(k)
		}
	}
	counted := false
	for _, id := range s.ids {
		ru := b.rules[id]
		if ru == nil || !ru.enabled || (readOnly && !ru.allCloudTrail) {
			continue
		}
		if !counted {
			counted = true
			b.matched.Inc()
		}
		ru.triggered.Inc()
		s.jobs = b.appendJobs(s.jobs, ru, data, eventID, ingested)
	}
}

// appendJobs appends to jobs the deliveries of event data to the targets
// of rule ru, each through its target's transform. The caller holds b.mu
// for reading.
func (b *bus) appendJobs(jobs []*delivery.Job, ru *rule, data []byte, eventID string, ingested time.Time) []*delivery.Job {
	for _, t := range ru.targets {
		payload := data
		if t.transform != nil {
			var err error
			payload, err = t.transform.Apply(data, transform.Context{RuleName: ru.name, RuleARN: ru.arn, IngestionTime: ingested})
			if err != nil {
				b.r.m.transformFailures.WithLabelValues(b.name, ru.name).Inc()
				var tooLarge *transform.OutputTooLargeError
				if !errors.As(err, &tooLarge) {
					b.r.log.Error("transforming an event for a target; not delivered", "rule_arn", ru.arn, "target_id", t.id, "event_id", eventID, "err", err)
					continue
				}
				// It can never be delivered: the event itself goes to the
				// target's dead-letter queue, as a failure not to retry.
				job := b.job(ru, t, eventID, ingested, data)
				if err := b.r.cfg.Runner.Reject(job, delivery.CodeInvalidParameter, err); err != nil {
					b.r.log.Error("an event whose transformed input is too large could not be dead-lettered; dropped",
						"rule_arn", ru.arn, "target_id", t.id, "event_id", eventID, "err", err)
				}
				continue
			}
		}
		jobs = append(jobs, b.job(ru, t, eventID, ingested, payload))
	}
	return jobs
}

// job is the delivery of payload (the event after the target's transform)
// to target t of rule ru.
func (b *bus) job(ru *rule, t *target, eventID string, ingested time.Time, payload []byte) *delivery.Job {
	return &delivery.Job{
		Bus:            b.name,
		RuleName:       ru.name,
		RuleARN:        ru.arn,
		TargetID:       t.id,
		TargetARN:      t.arn,
		EventID:        eventID,
		IngestionTime:  ingested,
		RetryPolicy:    t.retry,
		DeadLetterARN:  t.dlq,
		HTTP:           t.http,
		MessageGroupId: t.group,
		Payload:        payload,
	}
}

// idPrefix is how every envelope that PutEvents stores begins
// (event.Event.AppendJSON).
var idPrefix = []byte(`{"version":"0","id":"`)

// eventIDOf returns the "id" of envelope data: read in place when the
// envelope begins as PutEvents writes it, else parsed.
func eventIDOf(data []byte) string {
	if rest, ok := bytes.CutPrefix(data, idPrefix); ok {
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end])
		}
	}
	e, err := event.Parse(data)
	if err != nil {
		return ""
	}
	return e.ID
}
