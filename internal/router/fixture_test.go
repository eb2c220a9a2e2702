package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/router"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// The fixture is the router on the real parts below it, as the server wires
// them (internal/server/server.go): an embedded store in t.TempDir(), the
// catalog, the delivery queue and a delivery runner, whose Invoker is a
// recorder instead of the target adapters, so that a test sees exactly what
// each target was given. No HTTP, no AWS API: rules are written to the
// catalog, events to the bus streams, as the API and ingest do.

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ctxT is a context for one call of a test, ended with the test.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// options shape a fixture.
type options struct {
	// queued turns direct delivery off: every job the router makes is
	// stored in the delivery queue (Runner.TryDirect always refuses).
	queued bool
	// ackWait is the router's AckWait (its default when zero).
	ackWait time.Duration
	// rec is the recorder to deliver to (a new one when nil); a test that
	// restarts keeps its recorder across the restart.
	rec *recorder
}

// modes are the two ways the router hands a job over: tried directly by the
// runner (stored only when the target fails or is busy), or stored in the
// delivery queue at once.
var modes = []struct {
	name   string
	queued bool
}{{"direct", false}, {"queued", true}}

// fixture is one Conveyor process without its API: store, catalog, queue,
// runner and router.
type fixture struct {
	opts options
	dir  string
	rec  *recorder

	st   *store.Store
	cat  *catalog.Catalog
	home scope.Scope
	q    *delivery.Queue
	run  *delivery.Runner
	r    *router.Router
	// reg holds the metrics of the router started last.
	reg *prometheus.Registry
}

// newFixture starts a fixture in a fresh data directory; it is stopped
// when the test ends.
func newFixture(t testing.TB, opts options) *fixture {
	t.Helper()
	if opts.rec == nil {
		opts.rec = newRecorder()
	}
	f := &fixture{opts: opts, dir: t.TempDir(), rec: opts.rec}
	f.openStore(t)
	f.startRouting(t)
	return f
}

// openStore opens the store on the fixture's data directory (again, after
// stop) and the catalog and delivery queue on it.
func (f *fixture) openStore(t testing.TB) {
	t.Helper()
	f.st = storetest.OpenDir(t, f.dir)
	// Cleanups run last-registered first: this one, registered after the
	// store's, stops routing before the store closes.
	t.Cleanup(func() {
		if err := f.stop(10 * time.Second); err != nil {
			t.Errorf("stopping the fixture: %v", err)
		}
	})
	var err error
	f.cat, err = catalog.Open(ctxT(t), f.st.JetStream(), catalog.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	f.home = f.cat.Home()
	if f.q, err = delivery.NewQueue(ctxT(t), f.st); err != nil {
		t.Fatal(err)
	}
}

// startRouting starts a delivery runner and the router, and returns once
// the router has loaded the catalog.
func (f *fixture) startRouting(t testing.TB) {
	t.Helper()
	cfg := delivery.Config{
		Invoker:     f.rec,
		Logger:      quiet(),
		BackoffBase: 10 * time.Millisecond,
		BackoffMax:  100 * time.Millisecond,
		AckWait:     5 * time.Second,
	}
	if f.opts.queued {
		cfg.DirectMaxInFlight = -1
	}
	var err error
	if f.run, err = delivery.NewRunner(f.q, cfg); err != nil {
		t.Fatal(err)
	}
	f.reg = prometheus.NewRegistry()
	f.r, err = router.New(router.Config{
		Store: f.st, Catalog: f.cat, Queue: f.q, Runner: f.run,
		Logger: quiet(), AckWait: f.opts.ackWait, Registerer: f.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.r.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// stop stops the process in the server's order: the router, then the
// runner (which waits up to grace for the attempts in flight, then cancels
// them), the catalog and the store. It may be called again.
func (f *fixture) stop(grace time.Duration) error {
	var errs []error
	if f.r != nil {
		f.r.Close()
		f.r = nil
	}
	if f.run != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, f.run.Close(ctx))
		cancel()
		f.run = nil
	}
	if f.cat != nil {
		f.cat.Close()
		f.cat = nil
	}
	if f.st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, f.st.Close(ctx))
		cancel()
		f.st = nil
	}
	return errors.Join(errs...)
}

// applied waits until the router has applied every catalog change made so
// far: the next event put is routed by the new rules.
func (f *fixture) applied(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.r.WaitCatalog(ctx); err != nil {
		t.Fatal(err)
	}
}

// createBus creates a custom bus in the home scope and returns its ID.
func (f *fixture) createBus(t testing.TB, name string) string {
	t.Helper()
	if _, err := f.cat.In(f.home).CreateBus(ctxT(t), catalog.Bus{Name: name}); err != nil {
		t.Fatal(err)
	}
	f.applied(t)
	return f.cat.BusID(f.home, name)
}

// putRule writes rule ru (a new rule, or one replacing the rule of that
// name) on bus, and waits until the router has applied it. Buses are in the
// home scope, where a bus's ID is its name.
func (f *fixture) putRule(t testing.TB, bus string, ru catalog.Rule) *catalog.Rule {
	t.Helper()
	got, err := f.cat.In(f.home).MutateRule(ctxT(t), bus, ru.Name, func(*catalog.Rule) (*catalog.Rule, error) {
		nr := ru
		return &nr, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.applied(t)
	return got
}

// changeRule changes the rule name of bus with fn, as UpdateRule, PutTargets
// or RemoveTargets do, and waits until the router has applied it.
func (f *fixture) changeRule(t testing.TB, bus, name string, fn func(*catalog.Rule)) {
	t.Helper()
	_, err := f.cat.In(f.home).MutateRule(ctxT(t), bus, name, func(cur *catalog.Rule) (*catalog.Rule, error) {
		if cur == nil {
			return nil, catalog.ErrNotFound
		}
		fn(cur)
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.applied(t)
}

// deleteRule deletes the rule name of bus and waits until the router has
// applied it.
func (f *fixture) deleteRule(t testing.TB, bus, name string) {
	t.Helper()
	_, err := f.cat.In(f.home).MutateRule(ctxT(t), bus, name, func(*catalog.Rule) (*catalog.Rule, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	f.applied(t)
}

// rule is an enabled rule with pattern and a target of each id.
func rule(name, pattern string, targetIDs ...string) catalog.Rule {
	ru := catalog.Rule{Name: name, EventPattern: pattern, State: catalog.StateEnabled}
	for _, id := range targetIDs {
		ru.Targets = append(ru.Targets, target(id))
	}
	return ru
}

// target is a rule target; the recorder delivers to any ARN.
func target(id string) catalog.Target {
	return catalog.Target{Id: id, Arn: "arn:aws:sqs:us-east-1:000000000000:" + id}
}

// newEvent returns an EventBridge envelope as PutEvents stores it, and its id.
func newEvent(source, detailType, detail string) (string, []byte) {
	e := event.Event{ID: event.NewID(), Source: source, DetailType: detailType,
		Account: "000000000000", Region: "us-east-1", Time: time.Now(), Detail: json.RawMessage(detail)}
	return e.ID, e.AppendJSON(nil)
}

// put stores event data on bus as PutEvents does (package ingest: the
// bus's stream made if the router has not made it yet, no message id).
func (f *fixture) put(t testing.TB, bus string, data []byte) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := f.st.EnsureBus(ctx, bus); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.PublishEvents(ctx, bus, []store.Message{{Data: data}}); err != nil {
		t.Fatal(err)
	}
}

// routed returns nil once the router has acknowledged every event on the
// stream of bus, else what is left.
func (f *fixture) routed(ctx context.Context, bus string) error {
	st, err := f.st.JetStream().Stream(ctx, store.BusStream(bus))
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	cons, err := st.Consumer(ctx, router.ConsumerName)
	if err != nil {
		return err
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	if ci.AckFloor.Stream < info.State.LastSeq {
		return fmt.Errorf("events acknowledged up to %d of %d (%d awaiting an ack, %d not handed out)",
			ci.AckFloor.Stream, info.State.LastSeq, ci.NumAckPending, ci.NumPending)
	}
	return nil
}

// queued returns the number of jobs of bus in the delivery queue.
func (f *fixture) queued(ctx context.Context, bus string) (uint64, error) {
	st, err := f.st.JetStream().Stream(ctx, store.DeliveryStream)
	if err != nil {
		return 0, err
	}
	filter := strings.TrimSuffix(store.DeliverySubjects, ">") + store.Token(bus) + ".>"
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, nil
}

// settled waits until every event put on bus so far is routed and every
// delivery it caused is made. The router acknowledges an event only once
// each of its jobs is delivered or stored, and a stored job leaves the
// queue only once delivered: after this, the recorder holds every delivery
// those events will ever cause, and a test may check that one is absent.
func (f *fixture) settled(t testing.TB, bus string) {
	t.Helper()
	waitfor.Err(t, waitfor.Timeout, "the events of bus "+bus+" to be routed and delivered", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.routed(ctx, bus); err != nil {
			return err
		}
		n, err := f.queued(ctx, bus)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d jobs in the delivery queue", n)
		}
		return nil
	})
}

// expect checks that event id of bus was delivered exactly as want says:
// "rule/target" to number of deliveries, and to no other target.
func (f *fixture) expect(t testing.TB, bus, id string, want map[string]int) {
	t.Helper()
	got := f.rec.deliveries(bus, id)
	if want == nil {
		want = map[string]int{}
	}
	if !maps.Equal(got, want) {
		t.Errorf("event %s of bus %s delivered to %v, want %v", id, bus, got, want)
	}
}

// recorder is the runner's Invoker: it records every attempt and every
// delivery. Its hook, when set, runs first and fails or holds an attempt.
type recorder struct {
	mu        sync.Mutex
	hook      func(ctx context.Context, j *delivery.Job) error
	attempts  map[delivery.TargetKey]int
	delivered []delivered
}

// delivered is a job the recorder took, and the id in its payload when the
// payload is an event (no transform).
type delivered struct {
	delivery.Job
	envelopeID string
}

// is reports whether d delivers event id: by the job's event id, or by the
// id of the event it carries. The two differ for the events the router
// puts on a bus itself (see TestJobEventIDIsTheEventsID).
func (d *delivered) is(id string) bool { return d.EventID == id || d.envelopeID == id }

func newRecorder() *recorder { return &recorder{attempts: map[delivery.TargetKey]int{}} }

// setHook sets the hook; set it before the fixture starts, or while no
// event is routed.
func (r *recorder) setHook(h func(ctx context.Context, j *delivery.Job) error) {
	r.mu.Lock()
	r.hook = h
	r.mu.Unlock()
}

// Invoke implements delivery.Invoker.
func (r *recorder) Invoke(ctx context.Context, j *delivery.Job) error {
	r.mu.Lock()
	r.attempts[j.Key()]++
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, j); err != nil {
			return err
		}
	}
	d := delivered{Job: *j}
	d.Payload = bytes.Clone(j.Payload)
	if e, err := event.Parse(d.Payload); err == nil {
		d.envelopeID = e.ID
	}
	r.mu.Lock()
	r.delivered = append(r.delivered, d)
	r.mu.Unlock()
	return nil
}

// attemptsAt returns the number of attempts made at target k.
func (r *recorder) attemptsAt(k delivery.TargetKey) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[k]
}

// deliveries returns where event id of bus was delivered: "rule/target" to
// the number of deliveries.
func (r *recorder) deliveries(bus, id string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, d := range r.delivered {
		if d.Bus == bus && d.is(id) {
			out[d.RuleName+"/"+d.TargetID]++
		}
	}
	return out
}

// payload returns what target ruleTarget ("rule/target") of bus was given
// for event id (its first delivery), and whether it was given anything.
func (r *recorder) payload(bus, id, ruleTarget string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.delivered {
		if d.Bus == bus && d.is(id) && d.RuleName+"/"+d.TargetID == ruleTarget {
			return d.Payload, true
		}
	}
	return nil, false
}

// jobsOf returns the delivered jobs whose payload is event id of bus.
func (r *recorder) jobsOf(bus, id string) []delivery.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery.Job
	for _, d := range r.delivered {
		if d.Bus == bus && d.envelopeID == id {
			out = append(out, d.Job)
		}
	}
	return out
}
