package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/pattern"
	"github.com/conveyor/conveyor/transform"
)

// HeaderReadOnlyAPICall marks a bus message that is a CloudTrail record of a
// read-only API call: only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS receive it.
const HeaderReadOnlyAPICall = "Conveyor-Readonly-Api-Call"

// consumerName is the durable consumer of every bus stream that the routers
// of all Conveyor processes share.
const consumerName = "router"

// Config is what a Router works with. Store, Catalog, Queue and Runner are
// required.
type Config struct {
	Store   *store.Store
	Catalog *catalog.Catalog
	Queue   *delivery.Queue
	Runner  *delivery.Runner
	Logger  *slog.Logger
	// Registerer receives the routing metrics (none when nil).
	Registerer prometheus.Registerer
	// PatternOptions are given to every bus's matcher (the pattern size
	// limit, for instance).
	PatternOptions []pattern.Option
	// Batch is the most events routed together (default 256).
	Batch int
	// AckWait is how long a bus's stream waits for an event to be
	// acknowledged before it hands the event out again (default 10s). The
	// router reports progress on events whose deliveries still run, so
	// that only a crash lets it pass: it is how long, after a crash, the
	// events that were being delivered wait to be routed again.
	AckWait time.Duration
}

// Router routes the events of every bus to the targets of the rules they
// match.
type Router struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	synced chan struct{}

	mu    sync.RWMutex
	buses map[string]*bus

	// applied is the catalog revision the router has applied; appliedMu
	// guards appliedCh, closed (and replaced) whenever applied grows.
	applied   atomic.Uint64
	appliedMu sync.Mutex
	appliedCh chan struct{}
}

// New returns a router; Start runs it.
func New(cfg Config) (*Router, error) {
	if cfg.Store == nil || cfg.Catalog == nil || cfg.Queue == nil || cfg.Runner == nil {
		return nil, errors.New("router: Store, Catalog, Queue and Runner are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 10 * time.Second
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Router{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "router"),
		m:         m,
		synced:    make(chan struct{}),
		buses:     make(map[string]*bus),
		appliedCh: make(chan struct{}),
	}, nil
}

// Start follows the catalog and routes events until Close. It returns once
// the catalog's current state is loaded (every existing bus routes, every
// existing rule matches), or with ctx's error.
func (r *Router) Start(ctx context.Context) error {
	r.ctx, r.cancel = context.WithCancel(context.Background())
	changes, before, err := r.watch(ctx)
	if err != nil {
		r.cancel()
		return fmt.Errorf("router: %w", err)
	}
	r.wg.Add(1)
	go r.follow(changes, before)
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("router: loading the catalog: %w", ctx.Err())
	}
}

// Close stops routing: no event is taken from a bus after it returns, and
// events being routed finish first (or are redelivered after a restart).
func (r *Router) Close() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// HasBus reports whether the router knows the bus with ID name (see
// catalog.BusID; the catalog's view as the router last saw it).
func (r *Router) HasBus(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, ok := r.buses[name]
	return ok && b.exists
}

// PutEvent puts event (an EventBridge envelope) on the bus with ID bus (see
// catalog.BusID), for event-bus targets. The message id is a digest of bus
// and event, so a retried delivery of the same job is stored once.
func (r *Router) PutEvent(ctx context.Context, bus string, event []byte) error {
	if !r.HasBus(bus) {
		if _, err := r.cfg.Catalog.BusOf(ctx, bus); err != nil {
			return err
		}
	}
	return r.publish(ctx, bus, digestID(bus, event), event, nil)
}

// ForwardAPICall puts a CloudTrail API-call event on the default bus of the
// scope the call was made in (the audit trail's forwarder), made if it is not
// there yet. A read-only call is marked so that only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS receive it.
func (r *Router) ForwardAPICall(ctx context.Context, sc scope.Scope, event []byte, readOnly bool) error {
	var h nats.Header
	if readOnly {
		h = nats.Header{HeaderReadOnlyAPICall: []string{"true"}}
	}
	id := r.cfg.Catalog.BusID(sc, catalog.DefaultBusName)
	if !r.HasBus(id) {
		if _, err := r.cfg.Catalog.In(sc).EnsureDefault(ctx); err != nil {
			return err
		}
	}
	return r.publish(ctx, id, digestID(id, event), event, h)
}

// digestID is a message id for an event put on bus by Conveyor itself: the
// same event put twice (a retry) is stored once.
func digestID(bus string, event []byte) string {
	h := sha256.New()
	h.Write([]byte(bus))
	h.Write([]byte{0})
	h.Write(event)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// publish stores one event on bus and returns once JetStream has stored it,
// creating the bus's stream if the router has not yet.
func (r *Router) publish(ctx context.Context, bus, id string, event []byte, h nats.Header) error {
	msg := &nats.Msg{Subject: store.BusSubject(bus), Header: nats.Header{}, Data: event}
	for k, v := range h {
		msg.Header[k] = v
	}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	_, err := r.cfg.Store.Publish(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := r.cfg.Store.EnsureBus(ctx, bus); err != nil {
			return err
		}
		_, err = r.cfg.Store.Publish(ctx, msg)
	}
	if err != nil {
		return fmt.Errorf("router: put event on bus %s: %w", bus, err)
	}
	return nil
}

// watch starts a watch of buses and rules, and returns with it the catalog
// revision that its snapshot covers at least.
func (r *Router) watch(ctx context.Context) (<-chan catalog.Change, uint64, error) {
	before, err := r.cfg.Catalog.LastRevision(ctx, catalog.KindBus, catalog.KindRule)
	if err != nil {
		return nil, 0, err
	}
	changes, err := r.cfg.Catalog.Watch(r.ctx, catalog.KindBus, catalog.KindRule)
	return changes, before, err
}

// WaitCatalog waits until the router has applied every change of buses,
// rules and targets made before it was called, so that an API call that
// changed them can answer knowing the next event is routed by the new
// rules. EventBridge only promises eventual consistency here; Conveyor does
// better when it costs little.
func (r *Router) WaitCatalog(ctx context.Context) error {
	rev, err := r.cfg.Catalog.LastRevision(ctx, catalog.KindBus, catalog.KindRule)
	if err != nil {
		return err
	}
	for {
		r.appliedMu.Lock()
		ch := r.appliedCh
		r.appliedMu.Unlock()
		if r.applied.Load() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("router: waiting for catalog revision %d (applied %d): %w", rev, r.applied.Load(), ctx.Err())
		}
	}
}

// setApplied records that the catalog is applied up to rev.
func (r *Router) setApplied(rev uint64) {
	if rev <= r.applied.Load() {
		return
	}
	r.applied.Store(rev)
	r.appliedMu.Lock()
	close(r.appliedCh)
	r.appliedCh = make(chan struct{})
	r.appliedMu.Unlock()
}

// follow applies the catalog's changes, one at a time, until the watch ends.
// before is the revision the watch's snapshot covers.
func (r *Router) follow(changes <-chan catalog.Change, before uint64) {
	defer r.wg.Done()
	targets := map[delivery.TargetKey]bool{}
	synced := false
	for {
		for ch := range changes {
			switch {
			case ch.Op == catalog.OpSynced:
				r.setApplied(before)
				if err := r.cfg.Runner.SetTargets(keys(targets)); err != nil {
					r.log.Error("setting delivery targets", "err", err)
				}
				if !synced {
					synced = true
					close(r.synced)
				}
			case ch.Kind == catalog.KindBus:
				r.applyBus(ch)
			case ch.Kind == catalog.KindRule:
				r.applyRule(ch, targets, synced)
			}
			if synced && ch.Revision > 0 {
				r.setApplied(ch.Revision)
			}
		}
		if r.ctx.Err() != nil {
			r.stopAll()
			return
		}
		// The watch failed: start over from a fresh snapshot.
		r.log.Warn("catalog watch ended; watching again")
		var (
			err error
			b   store.Backoff
		)
		for {
			changes, before, err = r.watch(r.ctx)
			if err == nil {
				break
			}
			r.log.Error("watching the catalog", "err", err)
			if !b.Wait(r.ctx) {
				r.stopAll()
				return
			}
		}
		clear(targets)
	}
}

func keys(m map[delivery.TargetKey]bool) []delivery.TargetKey {
	out := make([]delivery.TargetKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// busFor returns the state of bus name, creating it (and starting its
// consumer) when it is new.
func (r *Router) busFor(name string) *bus {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buses[name]
	if b == nil {
		b = newBus(r, name)
		r.buses[name] = b
		b.start()
	}
	return b
}

func (r *Router) applyBus(ch catalog.Change) {
	id := r.cfg.Catalog.BusID(ch.Scope, ch.BusName)
	if ch.Op == catalog.OpPut {
		b := r.busFor(id)
		r.mu.Lock()
		b.exists = true
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	b := r.buses[id]
	delete(r.buses, id)
	r.mu.Unlock()
	if b != nil {
		b.stop()
	}
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	if err := r.cfg.Store.DeleteBus(ctx, id); err != nil {
		r.log.Error("deleting bus stream", "bus", id, "err", err)
	}
}

func (r *Router) applyRule(ch catalog.Change, targets map[delivery.TargetKey]bool, synced bool) {
	id := r.cfg.Catalog.BusID(ch.Scope, ch.BusName)
	var nr *rule
	if ch.Op == catalog.OpPut {
		b := r.busFor(id)
		nr = r.compileRule(id, ch.Rule)
		b.setRule(ch.Name, nr)
	} else {
		// The rule of a deleted bus: the bus is gone already (and must not
		// be brought back); only the rule's targets are left to drop.
		r.mu.RLock()
		b := r.buses[id]
		r.mu.RUnlock()
		if b != nil {
			b.setRule(ch.Name, nil)
		}
	}
	// The delivery runner follows the rule's targets.
	keep := map[delivery.TargetKey]bool{}
	if nr != nil {
		for _, t := range nr.targets {
			k := delivery.TargetKey{Bus: id, Rule: ch.Name, ID: t.id}
			keep[k] = true
			if !targets[k] {
				targets[k] = true
				if synced {
					if err := r.cfg.Runner.AddTarget(k); err != nil {
						r.log.Error("starting target delivery", "bus", k.Bus, "rule", k.Rule, "target_id", k.ID, "err", err)
					}
				}
			}
		}
	}
	// Every target of this rule that the runner follows and the new rule
	// lacks is dropped (for a deleted bus, all of them).
	for k := range targets {
		if k.Bus != id || k.Rule != ch.Name || keep[k] {
			continue
		}
		delete(targets, k)
		r.cfg.Runner.RemoveTarget(k)
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		if err := r.cfg.Queue.DropTarget(ctx, k); err != nil {
			r.log.Error("dropping a removed target's jobs", "bus", k.Bus, "rule", k.Rule, "target_id", k.ID, "err", err)
		}
		cancel()
	}
}

// compileRule turns a catalog rule into what routing needs: its targets'
// transforms compiled, its retry policy resolved.
func (r *Router) compileRule(busID string, cr *catalog.Rule) *rule {
	nr := &rule{
		name:          cr.Name,
		arn:           cr.ARN,
		pattern:       cr.EventPattern,
		enabled:       cr.Enabled(),
		managed:       cr.ManagedBy != "",
		allCloudTrail: cr.State == catalog.StateEnabledWithAllCloudTrailEvents,
		triggered:     r.m.triggered.WithLabelValues(busID, cr.Name),
	}
	for i := range cr.Targets {
		t := &cr.Targets[i]
		ct := &target{id: t.Id, arn: t.Arn}
		spec := transform.Spec{TargetID: t.Id}
		if t.Input != "" {
			spec.Input = &t.Input
		}
		if t.InputPath != "" {
			spec.InputPath = &t.InputPath
		}
		if t.InputTransformer != nil {
			spec.InputTransformer = &transform.InputTransformer{
				InputPathsMap: t.InputTransformer.InputPathsMap,
				InputTemplate: t.InputTransformer.InputTemplate,
			}
		}
		if spec.Input != nil || spec.InputPath != nil || spec.InputTransformer != nil {
			tf, err := transform.Compile(spec)
			if err != nil {
				// PutTargets validated it; a stored target that no longer
				// compiles is a bug, not a reason to send the raw event.
				r.log.Error("target transform does not compile; target skipped", "rule_arn", cr.ARN, "target_id", t.Id, "err", err)
				continue
			}
			ct.transform = tf
		}
		attempts, age := t.RetryPolicy.Effective()
		ct.retry = delivery.RetryPolicy{MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: int(age / time.Second)}
		if t.DeadLetterConfig != nil {
			ct.dlq = t.DeadLetterConfig.Arn
		}
		if hp := t.HttpParameters; hp != nil {
			ct.http = &delivery.HTTPParameters{
				PathParameterValues:   hp.PathParameterValues,
				HeaderParameters:      hp.HeaderParameters,
				QueryStringParameters: hp.QueryStringParameters,
			}
		}
		if sp := t.SqsParameters; sp != nil {
			ct.group = sp.MessageGroupId
		}
		nr.targets = append(nr.targets, ct)
	}
	return nr
}

func (r *Router) stopAll() {
	r.mu.Lock()
	all := make([]*bus, 0, len(r.buses))
	for _, b := range r.buses {
		all = append(all, b)
	}
	r.mu.Unlock()
	for _, b := range all {
		b.stop()
	}
}
