package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/router"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// withState returns ru in state.
func withState(ru catalog.Rule, state string) catalog.Rule {
	ru.State = state
	return ru
}

// routingCases are the rules of a bus, one event put on it, and where the
// event must be delivered ("rule/target": times); every other target of
// the bus must get nothing.
var routingCases = []struct {
	name                       string
	rules                      []catalog.Rule
	source, detailType, detail string
	want                       map[string]int
}{{
	name:   "a matching rule reaches each of its targets once",
	rules:  []catalog.Rule{rule("orders", `{"source":["shop"]}`, "a", "b")},
	source: "shop", detailType: "OrderPlaced", detail: `{}`,
	want: map[string]int{"orders/a": 1, "orders/b": 1},
}, {
	name: "an event matching no rule reaches none",
	rules: []catalog.Rule{
		rule("orders", `{"source":["shop"]}`, "a"),
		rule("big", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "b"),
	},
	source: "shop-eu", detailType: "OrderPlaced", detail: `{"total":5}`,
}, {
	name: "a disabled rule gets nothing",
	rules: []catalog.Rule{
		withState(rule("off", `{"source":["shop"]}`, "a"), catalog.StateDisabled),
		rule("on", `{"source":["shop"]}`, "b"),
	},
	source: "shop", detailType: "OrderPlaced", detail: `{}`,
	want: map[string]int{"on/b": 1},
}, {
	name: "an event matching two rules reaches the targets of both",
	rules: []catalog.Rule{
		rule("by-source", `{"source":["shop"]}`, "a"),
		rule("by-type", `{"detail-type":["OrderPlaced"]}`, "b", "c"),
		rule("refunds", `{"detail-type":["Refund"]}`, "d"),
	},
	source: "shop", detailType: "OrderPlaced", detail: `{}`,
	want: map[string]int{"by-source/a": 1, "by-type/b": 1, "by-type/c": 1},
}, {
	name: "a target id used by two matching rules receives once per rule",
	rules: []catalog.Rule{
		rule("any", `{"source":["shop"]}`, "t"),
		rule("big", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "t"),
	},
	source: "shop", detailType: "OrderPlaced", detail: `{"total":150}`,
	want: map[string]int{"any/t": 1, "big/t": 1},
}, {
	name:   "a rule taking all CloudTrail events takes ordinary ones too",
	rules:  []catalog.Rule{withState(rule("ct", `{"source":["shop"]}`, "a"), catalog.StateEnabledWithAllCloudTrailEvents)},
	source: "shop", detailType: "OrderPlaced", detail: `{}`,
	want: map[string]int{"ct/a": 1},
}, {
	name: "a scheduled rule (no pattern) gets no bus event",
	rules: []catalog.Rule{
		{Name: "tick", ScheduleExpression: "rate(1 minute)", State: catalog.StateEnabled, Targets: []catalog.Target{target("a")}},
		rule("on", `{"source":["shop"]}`, "b"),
	},
	source: "shop", detailType: "OrderPlaced", detail: `{}`,
	want: map[string]int{"on/b": 1},
}}

// TestRouting puts each case's event on a bus of its own and checks where
// it was delivered, with direct delivery and with every job queued.
func TestRouting(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{queued: m.queued})
			for i, c := range routingCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					bus := f.createBus(t, fmt.Sprintf("case-%d", i))
					for _, ru := range c.rules {
						f.putRule(t, bus, ru)
					}
					id, data := newEvent(c.source, c.detailType, c.detail)
					f.put(t, bus, data)
					f.settled(t, bus)
					f.expect(t, bus, id, c.want)
				})
			}
		})
	}
}

// TestBatchRouting: a PutEvents call's events stored as one bus message
// are routed each on its own: each matching event reaches its targets with
// its own id and payload, the others reach none, and one that is not JSON
// is dropped without holding up the rest.
func TestBatchRouting(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{queued: m.queued})
			bus := f.createBus(t, "batch")
			f.putRule(t, bus, rule("orders", `{"source":["shop"]}`, "a"))
			f.putRule(t, bus, rule("big", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "b"))
			var ids []string
			var msgs []store.Message
			for _, c := range []struct{ source, detail string }{
				{"shop", `{"total":5}`}, {"bank", `{"total":500}`}, {"shop", `{"total":150}`}, {"bank", `{}`},
			} {
				id, data := newEvent(c.source, "OrderPlaced", c.detail)
				ids = append(ids, id)
				msgs = append(msgs, store.Message{Data: data})
			}
			msgs = append(msgs[:2], append([]store.Message{{Data: []byte(`{"not json`)}}, msgs[2:]...)...)
			ctx := ctxT(t)
			if _, err := f.st.EnsureBus(ctx, bus); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.PublishEvents(ctx, bus, msgs); err != nil {
				t.Fatal(err)
			}
			f.settled(t, bus)
			for i, want := range []map[string]int{{"orders/a": 1}, {"big/b": 1}, {"orders/a": 1, "big/b": 1}, nil} {
				f.expect(t, bus, ids[i], want)
			}
			if p, ok := f.rec.payload(bus, ids[2], "big/b"); !ok || !strings.Contains(string(p), ids[2]) {
				t.Errorf("event 3 delivered as %s", p)
			}
		})
	}
}

// TestRuleChanges changes a rule step by step; once the router has applied
// a change (WaitCatalog, as the API waits before it answers), the next event
// is routed by the new rule, and the runner delivers for exactly the
// targets the rules have.
func TestRuleChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	bus := f.createBus(t, "orders")
	key := func(id string) delivery.TargetKey { return delivery.TargetKey{Bus: bus, Rule: "r", ID: id} }
	// step puts an event from source and checks where it went, and which
	// targets of rule r the runner delivers for.
	step := func(name, source string, want map[string]int, running ...string) {
		t.Run(name, func(t *testing.T) {
			id, data := newEvent(source, "OrderPlaced", `{}`)
			f.put(t, bus, data)
			f.settled(t, bus)
			f.expect(t, bus, id, want)
			var got []string
			for _, k := range f.run.Targets() {
				if k.Bus == bus {
					got = append(got, k.Rule+"/"+k.ID)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, running) {
				t.Errorf("runner delivers for %v, want %v", got, running)
			}
		})
	}
	step("no rule yet", "shop", nil)

	f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "a"))
	step("put rule", "shop", map[string]int{"r/a": 1}, "r/a")

	f.changeRule(t, bus, "r", func(ru *catalog.Rule) { ru.EventPattern = `{"source":["warehouse"]}` })
	step("pattern changed: old source", "shop", nil, "r/a")
	step("pattern changed: new source", "warehouse", map[string]int{"r/a": 1}, "r/a")

	f.changeRule(t, bus, "r", func(ru *catalog.Rule) { ru.Targets = append(ru.Targets, target("b")) })
	step("target added", "warehouse", map[string]int{"r/a": 1, "r/b": 1}, "r/a", "r/b")

	f.changeRule(t, bus, "r", func(ru *catalog.Rule) {
		ru.Targets = slices.DeleteFunc(ru.Targets, func(t catalog.Target) bool { return t.Id == "a" })
	})
	step("target removed", "warehouse", map[string]int{"r/b": 1}, "r/b")

	f.changeRule(t, bus, "r", func(ru *catalog.Rule) { ru.State = catalog.StateDisabled })
	step("rule disabled", "warehouse", nil, "r/b")

	f.changeRule(t, bus, "r", func(ru *catalog.Rule) { ru.State = catalog.StateEnabled })
	step("rule enabled again", "warehouse", map[string]int{"r/b": 1}, "r/b")

	f.deleteRule(t, bus, "r")
	step("rule deleted", "warehouse", nil)

	if n, err := f.q.Pending(ctxT(t), key("a")); err != nil || n != 0 {
		t.Errorf("jobs of the removed target: %d, %v", n, err)
	}
}

// cloudTrailCall is the CloudTrail event of an API call.
func cloudTrailCall(name string, readOnly bool) (string, []byte) {
	return newEvent("aws.events", "AWS API Call via CloudTrail", fmt.Sprintf(`{"eventName":%q,"readOnly":%t}`, name, readOnly))
}

// TestReadOnlyAPICall: a bus message marked as a read-only API call reaches
// only the rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS;
// other API calls reach every enabled rule.
func TestReadOnlyAPICall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	if _, err := f.cat.In(f.home).EnsureDefault(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	def := f.cat.BusID(f.home, catalog.DefaultBusName)
	audit := f.createBus(t, "audit")
	const calls = `{"detail-type":["AWS API Call via CloudTrail"]}`
	for _, bus := range []string{def, audit} {
		f.putRule(t, bus, rule("enabled", calls, "t"))
		f.putRule(t, bus, withState(rule("all", calls, "t"), catalog.StateEnabledWithAllCloudTrailEvents))
		f.putRule(t, bus, withState(rule("disabled", calls, "t"), catalog.StateDisabled))
	}

	// The audit trail's way: ForwardAPICall on the default bus.
	read, readData := cloudTrailCall("ListRules", true)
	write, writeData := cloudTrailCall("PutRule", false)
	if err := f.r.ForwardAPICall(ctxT(t), f.home, readData, true); err != nil {
		t.Fatal(err)
	}
	if err := f.r.ForwardAPICall(ctxT(t), f.home, writeData, false); err != nil {
		t.Fatal(err)
	}
	// Any bus message carrying the header.
	marked, markedData := cloudTrailCall("DescribeRule", true)
	msg := &nats.Msg{Subject: store.BusSubject(audit), Data: markedData,
		Header: nats.Header{router.HeaderReadOnlyAPICall: []string{"true"}}}
	if _, err := f.st.EnsureBus(ctxT(t), audit); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.JetStream().PublishMsg(ctxT(t), msg); err != nil {
		t.Fatal(err)
	}

	f.settled(t, def)
	f.settled(t, audit)
	f.expect(t, def, read, map[string]int{"all/t": 1})
	f.expect(t, def, write, map[string]int{"enabled/t": 1, "all/t": 1})
	f.expect(t, audit, marked, map[string]int{"all/t": 1})
}

// TestTargetTransforms: each target receives the event through its own
// Input, InputPath or InputTransformer, with the rule's name and ARN and
// the event's ingestion time in reach of the template.
func TestTargetTransforms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	bus := f.createBus(t, "orders")
	ru := rule("shape", `{"source":["shop"]}`, "raw", "input", "path", "json", "text")
	ru.Targets[1].Input = `{"fixed": true}`
	ru.Targets[2].InputPath = "$.detail.order"
	ru.Targets[3].InputTransformer = &catalog.InputTransformer{
		InputPathsMap: map[string]string{"total": "$.detail.order.total", "src": "$.source"},
		InputTemplate: `{"total": <total>, "from": "<src>", "rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, "at": <aws.events.event.ingestion-time>}`,
	}
	ru.Targets[4].InputTransformer = &catalog.InputTransformer{
		InputPathsMap: map[string]string{"total": "$.detail.order.total", "src": "$.source"},
		InputTemplate: `<src> took an order of <total>`,
	}
	stored := f.putRule(t, bus, ru)

	id, data := newEvent("shop", "OrderPlaced", `{"order":{"id":"o-1","total":42}}`)
	before := time.Now()
	f.put(t, bus, data)
	after := time.Now()
	f.settled(t, bus)
	f.expect(t, bus, id, map[string]int{"shape/raw": 1, "shape/input": 1, "shape/path": 1, "shape/json": 1, "shape/text": 1})

	got := func(target string) []byte {
		p, _ := f.rec.payload(bus, id, "shape/"+target)
		return p
	}
	if p := got("raw"); string(p) != string(data) {
		t.Errorf("without a transform: got %s, want the event %s", p, data)
	}
	if p := got("input"); string(p) != `{"fixed": true}` {
		t.Errorf("Input: got %s", p)
	}
	var order map[string]any
	if err := json.Unmarshal(got("path"), &order); err != nil || !reflect.DeepEqual(order, map[string]any{"id": "o-1", "total": 42.0}) {
		t.Errorf("InputPath: got %s (%v)", got("path"), err)
	}
	var out map[string]any
	if err := json.Unmarshal(got("json"), &out); err != nil {
		t.Fatalf("InputTransformer: got %s: %v", got("json"), err)
	}
	at, err := time.Parse(time.RFC3339, fmt.Sprint(out["at"]))
	if err != nil || at.Before(before.Truncate(time.Second)) || at.After(after) {
		t.Errorf("InputTransformer: ingestion time %v, want between %v and %v (%v)", out["at"], before, after, err)
	}
	delete(out, "at")
	want := map[string]any{"total": 42.0, "from": "shop", "rule": "shape", "arn": stored.ARN}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("InputTransformer: got %v, want %v", out, want)
	}
	if p := got("text"); string(p) != "shop took an order of 42" {
		t.Errorf("InputTransformer (text): got %q", p)
	}
}

// TestFailingTarget: a target that fails gets a retry job stored in the
// delivery queue, the event is acknowledged on its bus all the same, the
// rule's other target gets it once, and the failing target receives it once
// it works again.
func TestFailingTarget(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			var works atomic.Bool
			rec.setHook(func(_ context.Context, j *delivery.Job) error {
				if j.TargetID == "flaky" && !works.Load() {
					return errors.New("flaky: service unavailable")
				}
				return nil
			})
			f := newFixture(t, options{queued: m.queued, rec: rec})
			bus := f.createBus(t, "orders")
			f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "ok", "flaky"))
			flaky := delivery.TargetKey{Bus: bus, Rule: "r", ID: "flaky"}

			id, data := newEvent("shop", "OrderPlaced", `{}`)
			f.put(t, bus, data)
			waitfor.Err(t, waitfor.Timeout, "the event acknowledged with a retry job stored", func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if rec.attemptsAt(flaky) == 0 {
					return errors.New("no attempt at the failing target yet")
				}
				if err := f.routed(ctx, bus); err != nil {
					return err
				}
				if n, err := f.q.Pending(ctx, flaky); err != nil || n != 1 {
					return fmt.Errorf("%d jobs of the failing target stored, want 1 (%v)", n, err)
				}
				if n, err := f.queued(ctx, bus); err != nil || n != 1 {
					return fmt.Errorf("%d jobs in the delivery queue, want 1 (%v)", n, err)
				}
				return nil
			})
			f.expect(t, bus, id, map[string]int{"r/ok": 1})

			works.Store(true)
			f.settled(t, bus)
			f.expect(t, bus, id, map[string]int{"r/ok": 1, "r/flaky": 1})
			if n := rec.attemptsAt(flaky); n < 2 {
				t.Errorf("%d attempts at the failing target, want a failure and a retry at least", n)
			}
		})
	}
}

// TestRoutedAgainAfterRestart: an event whose delivery is cut short by a
// stop stays unacknowledged on its bus and is routed again when the process
// starts again on the same data, as is an event put while it was down.
func TestRoutedAgainAfterRestart(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	var held atomic.Bool
	rec.setHook(func(ctx context.Context, _ *delivery.Job) error {
		if held.CompareAndSwap(false, true) {
			// The first attempt hangs until the runner's close cancels it.
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	f := newFixture(t, options{rec: rec, ackWait: 2 * time.Second})
	bus := f.createBus(t, "orders")
	f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "t"))
	key := delivery.TargetKey{Bus: bus, Rule: "r", ID: "t"}

	first, data := newEvent("shop", "OrderPlaced", `{"n":1}`)
	f.put(t, bus, data)
	waitfor.True(t, "the first attempt to start", func() bool { return rec.attemptsAt(key) == 1 })
	// The runner waits 100 ms for the hanging attempt, then cancels it.
	if err := f.stop(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v, want the runner to cut the hanging attempt short", err)
	}
	if got := rec.deliveries(bus, first); len(got) != 0 {
		t.Fatalf("delivered before the stop: %v", got)
	}

	f.openStore(t)
	if err := f.routed(ctxT(t), bus); err == nil {
		t.Fatal("the event whose delivery was cut short is acknowledged on its bus")
	}
	second, data := newEvent("shop", "OrderPlaced", `{"n":2}`)
	f.put(t, bus, data)
	f.startRouting(t)
	f.settled(t, bus)
	f.expect(t, bus, first, map[string]int{"r/t": 1})
	f.expect(t, bus, second, map[string]int{"r/t": 1})
	// The first event's message was handed to the router a second time;
	// the second's once.
	if n := prom.Sum(f.reg, "conveyor_rerouted_messages_total", bus); n != 1 {
		t.Errorf("%v bus messages counted as routed again, want 1", n)
	}
}

// TestPutEvent: an event-bus target's event put twice (a retried delivery)
// is stored, and delivered, once; a bus that does not exist is refused.
func TestPutEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	bus := f.createBus(t, "inbox")
	f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "t"))
	id, data := newEvent("shop", "OrderPlaced", `{}`)
	for range 2 {
		if err := f.r.PutEvent(ctxT(t), bus, data); err != nil {
			t.Fatal(err)
		}
	}
	f.settled(t, bus)
	f.expect(t, bus, id, map[string]int{"r/t": 1})
	st, err := f.st.JetStream().Stream(ctxT(t), store.BusStream(bus))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(ctxT(t)); err != nil || info.State.Msgs != 1 {
		t.Errorf("bus stream holds %v messages (%v), want 1", info.State.Msgs, err)
	}
	if err := f.r.PutEvent(ctxT(t), "no-such-bus", data); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("PutEvent on a bus that does not exist: %v, want catalog.ErrNotFound", err)
	}
}

// TestDeletedBus: deleting a bus stops its routing, deletes its stream and
// its targets' delivery, and PutEvent refuses it.
func TestDeletedBus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{})
	bus := f.createBus(t, "temp")
	if !f.r.HasBus(bus) {
		t.Fatal("HasBus false for a bus just created")
	}
	f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "t"))
	key := delivery.TargetKey{Bus: bus, Rule: "r", ID: "t"}
	if !slices.Contains(f.run.Targets(), key) {
		t.Errorf("runner does not deliver for %v", key)
	}
	id, data := newEvent("shop", "OrderPlaced", `{}`)
	f.put(t, bus, data)
	f.settled(t, bus)
	f.expect(t, bus, id, map[string]int{"r/t": 1})

	if _, err := f.cat.In(f.home).DeleteBus(ctxT(t), "temp"); err != nil {
		t.Fatal(err)
	}
	f.applied(t)
	if f.r.HasBus(bus) {
		t.Error("HasBus true for a deleted bus")
	}
	if _, err := f.st.JetStream().Stream(ctxT(t), store.BusStream(bus)); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream of the deleted bus: %v, want it gone", err)
	}
	if slices.Contains(f.run.Targets(), key) {
		t.Errorf("runner still delivers for %v", key)
	}
	if err := f.r.PutEvent(ctxT(t), bus, data); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("PutEvent on the deleted bus: %v, want catalog.ErrNotFound", err)
	}
}

// TestJobEventIDIsTheEventsID: a delivery job's EventID is "the event's id"
// (delivery.Job) whichever way the event reached its bus: PutEvents (package
// ingest), the router's PutEvent (event-bus targets) or ForwardAPICall (the
// audit trail). It is what the dead-letter message's Conveyor-Event-Id, the
// live tail and the delivery logs show.
func TestJobEventIDIsTheEventsID(t *testing.T) {
	t.Skip("bug: for PutEvent and ForwardAPICall the job's EventID is the message id (a digest of bus and event), " +
		"not the event's id; bus.jobsFor prefers the Nats-Msg-Id header to the envelope's id. " +
		"A fix must keep a replayed event's jobs apart from the original's (RouteReplayed adds the replay name)")
	t.Parallel()
	f := newFixture(t, options{})
	if _, err := f.cat.In(f.home).EnsureDefault(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	bus := f.cat.BusID(f.home, catalog.DefaultBusName)
	f.putRule(t, bus, rule("r", `{"source":["shop","aws.events"]}`, "t"))

	ingested, data := newEvent("shop", "OrderPlaced", `{}`)
	f.put(t, bus, data)
	put, data := newEvent("shop", "OrderPlaced", `{}`)
	if err := f.r.PutEvent(ctxT(t), bus, data); err != nil {
		t.Fatal(err)
	}
	forwarded, data := cloudTrailCall("PutRule", false)
	if err := f.r.ForwardAPICall(ctxT(t), f.home, data, false); err != nil {
		t.Fatal(err)
	}
	f.settled(t, bus)
	for _, c := range []struct{ how, id string }{{"PutEvents", ingested}, {"PutEvent", put}, {"ForwardAPICall", forwarded}} {
		jobs := f.rec.jobsOf(bus, c.id)
		if len(jobs) != 1 {
			t.Errorf("%s: %d deliveries, want 1", c.how, len(jobs))
			continue
		}
		if jobs[0].EventID != c.id {
			t.Errorf("%s: job's EventID is %q, want the event's id %q", c.how, jobs[0].EventID, c.id)
		}
	}
}

// TestSlowDeliveryNotRoutedAgain: while a delivery takes longer than the
// router's ack wait, the router reports the event's progress to its bus, so
// the bus does not hand the event out again: it is delivered once.
func TestSlowDeliveryNotRoutedAgain(t *testing.T) {
	t.Parallel()
	// The router reports progress every third of its ack wait: a second
	// of slack for a loaded machine.
	const ackWait = 1500 * time.Millisecond
	rec := newRecorder()
	var held atomic.Bool
	rec.setHook(func(ctx context.Context, _ *delivery.Job) error {
		if held.CompareAndSwap(false, true) {
			select {
			case <-time.After(2 * ackWait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	f := newFixture(t, options{rec: rec, ackWait: ackWait})
	bus := f.createBus(t, "orders")
	f.putRule(t, bus, rule("r", `{"source":["shop"]}`, "t"))
	id, data := newEvent("shop", "OrderPlaced", `{}`)
	f.put(t, bus, data)
	f.settled(t, bus)
	f.expect(t, bus, id, map[string]int{"r/t": 1})
	if n := rec.attemptsAt(delivery.TargetKey{Bus: bus, Rule: "r", ID: "t"}); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}
