package schedule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/clock/clocktest"
	"github.com/conveyor/conveyor/internal/schedule"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// call is one RouteToRules call the fake router received.
type call struct {
	bus   string
	event map[string]any
	rules []string
}

type fakeRouter struct {
	mu    sync.Mutex
	calls []call
	c     chan call
}

func newFakeRouter() *fakeRouter { return &fakeRouter{c: make(chan call, 100)} }

func (f *fakeRouter) RouteToRules(_ context.Context, bus string, ev []byte, rules []string) error {
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		return err
	}
	c := call{bus: bus, event: m, rules: rules}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	f.c <- c
	return nil
}

func (f *fakeRouter) all() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type rig struct {
	js    jetstream.JetStream
	cat   *catalog.Catalog
	clock *clocktest.Manual
}

func newRig(t *testing.T, start time.Time) *rig {
	t.Helper()
	js := storetest.Open(t).JetStream()
	clock := clocktest.New(start)
	cat, err := catalog.Open(context.Background(), js, catalog.Config{Region: "eu-west-1", Account: "123456789012", Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.In(cat.Home()).EnsureDefault(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &rig{js: js, cat: cat, clock: clock}
}

func (r *rig) start(t *testing.T, router schedule.Router) *schedule.Scheduler {
	t.Helper()
	s, err := schedule.New(context.Background(), schedule.Config{Catalog: r.cat, JetStream: r.js, Router: router, Clock: r.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func (r *rig) putRule(t *testing.T, bus, name, expr, state string) *catalog.Rule {
	t.Helper()
	ru, err := r.cat.In(r.cat.Home()).MutateRule(context.Background(), bus, name, func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{ScheduleExpression: expr, State: state}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ru
}

// waitTimer waits (in real time) until a timer is armed for at.
func (r *rig) waitTimer(t *testing.T, at time.Time) {
	t.Helper()
	waitfor.Err(t, waitfor.Timeout, "a timer armed for "+at.String(), func() error {
		if next, ok := r.clock.NextTimer(); !ok || !next.Equal(at) {
			return fmt.Errorf("next timer: %s", next)
		}
		return nil
	})
}

func receive(t *testing.T, f *fakeRouter) call {
	t.Helper()
	select {
	case c := <-f.c:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no scheduled event routed")
		return call{}
	}
}

func noMore(t *testing.T, f *fakeRouter) {
	t.Helper()
	select {
	case c := <-f.c:
		t.Fatalf("unexpected firing: %v", c.event)
	case <-time.After(100 * time.Millisecond):
	}
}

var t0 = time.Date(2026, 11, 26, 10, 0, 30, 0, time.UTC)

func TestRateRuleFires(t *testing.T) {
	r := newRig(t, t0)
	f := newFakeRouter()
	r.start(t, f)
	ru := r.putRule(t, catalog.DefaultBusName, "every-minute", "rate(1 minute)", catalog.StateEnabled)
	r.putRule(t, catalog.DefaultBusName, "disabled", "rate(1 minute)", catalog.StateDisabled)
	r.putRule(t, "other", "not-default", "rate(1 minute)", catalog.StateEnabled)

	first := time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC)
	r.waitTimer(t, first)
	noMore(t, f)
	r.clock.Set(first.Add(-time.Second))
	noMore(t, f)
	r.clock.Set(first)
	c := receive(t, f)
	if c.bus != "default" || len(c.rules) != 1 || c.rules[0] != "every-minute" {
		t.Fatalf("routed to %s %v", c.bus, c.rules)
	}
	want := map[string]any{
		"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
		"time": "2026-11-26T10:01:00Z", "region": "eu-west-1", "resources": []any{ru.ARN}, "detail": map[string]any{},
	}
	id, _ := c.event["id"].(string)
	if len(id) != 36 {
		t.Errorf("event id %q is not a UUID", id)
	}
	delete(c.event, "id")
	if got, _ := json.Marshal(c.event); string(got) != mustJSON(want) {
		t.Errorf("event = %s\nwant    %s", got, mustJSON(want))
	}
	noMore(t, f)

	second := first.Add(time.Minute)
	r.waitTimer(t, second)
	r.clock.Set(second)
	if c := receive(t, f); c.event["time"] != "2026-11-26T10:02:00Z" || c.event["id"] == id {
		t.Fatalf("second firing = %v", c.event)
	}
	noMore(t, f)

	// Disabling stops it.
	r.putRule(t, catalog.DefaultBusName, "every-minute", "rate(1 minute)", catalog.StateDisabled)
	// Let the scheduler take the change: a disabled rule arms no timer, and
	// the one armed before stays pending, so nothing shows it was taken.
	time.Sleep(50 * time.Millisecond)
	r.clock.Set(second.Add(5 * time.Minute))
	noMore(t, f)
}

func TestCronRuleFires(t *testing.T) {
	r := newRig(t, t0)
	f := newFakeRouter()
	r.start(t, f)
	r.putRule(t, catalog.DefaultBusName, "quarter", "cron(0/15 * ? * THU *)", catalog.StateEnabled)
	at := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	r.waitTimer(t, at)
	r.clock.Set(at)
	if c := receive(t, f); c.event["time"] != "2026-11-26T10:15:00Z" {
		t.Fatalf("fired %v", c.event)
	}
	// Thursday ends at midnight; the next firing is a week later.
	next := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	r.waitTimer(t, next)
}

func TestNoDoubleFire(t *testing.T) {
	r := newRig(t, t0)
	f := newFakeRouter()
	a := r.start(t, f)
	b := r.start(t, f)
	r.putRule(t, catalog.DefaultBusName, "shared", "rate(1 minute)", catalog.StateEnabled)
	at := time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC)
	const minutes = 8
	for i := range minutes {
		r.waitTimer(t, at)
		r.clock.Set(at)
		receive(t, f)
		at = at.Add(time.Minute)
		_ = i
	}
	noMore(t, f)
	calls := f.all()
	if len(calls) != minutes {
		t.Fatalf("%d firings for %d minutes", len(calls), minutes)
	}
	seen := map[any]bool{}
	for _, c := range calls {
		if seen[c.event["time"]] {
			t.Fatalf("fired twice for %v", c.event["time"])
		}
		seen[c.event["time"]] = true
	}
	if a.Fired()+b.Fired() != minutes {
		t.Fatalf("schedulers fired %d + %d", a.Fired(), b.Fired())
	}
	t.Logf("scheduler a fired %d, b fired %d", a.Fired(), b.Fired())
}

func TestCatchUpOnce(t *testing.T) {
	r := newRig(t, t0)
	f := newFakeRouter()
	a, err := schedule.New(context.Background(), schedule.Config{Catalog: r.cat, JetStream: r.js, Router: f, Clock: r.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.putRule(t, catalog.DefaultBusName, "catch-up", "rate(1 minute)", catalog.StateEnabled)
	r.putRule(t, catalog.DefaultBusName, "hourly", "cron(0 * * * ? *)", catalog.StateEnabled)
	first := time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC)
	r.waitTimer(t, first)
	r.clock.Set(first)
	receive(t, f)
	a.Close()

	// Down for ten and a half minutes: the rate rule missed ten firings,
	// the hourly rule none.
	r.clock.Set(first.Add(10*time.Minute + 30*time.Second))
	r.start(t, f)
	c := receive(t, f)
	if c.event["time"] != "2026-11-26T10:11:00Z" || c.rules[0] != "catch-up" {
		t.Fatalf("catch-up firing = %v to %v", c.event, c.rules)
	}
	noMore(t, f)
	r.waitTimer(t, time.Date(2026, 11, 26, 10, 12, 0, 0, time.UTC))

	// A restart with nothing missed fires nothing.
	r.start(t, f)
	noMore(t, f)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
