package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

func putRule(t *testing.T, c *eventbridge.Client, bus, name, pattern string, targets ...types.Target) {
	t.Helper()
	ctx := context.Background()
	in := &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}
	if bus != "" {
		in.EventBusName = aws.String(bus)
	}
	if _, err := c.PutRule(ctx, in); err != nil {
		t.Fatalf("PutRule %s: %v", name, err)
	}
	if len(targets) == 0 {
		return
	}
	pt := &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}
	if bus != "" {
		pt.EventBusName = aws.String(bus)
	}
	out, err := c.PutTargets(ctx, pt)
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets %s: %v %+v", name, err, out)
	}
}

func putEvent(t *testing.T, c *eventbridge.Client, bus, source, detail string) string {
	t.Helper()
	e := types.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String("test"), Detail: aws.String(detail)}
	if bus != "" {
		e.EventBusName = aws.String(bus)
	}
	out, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{e}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

// TestInputTransformerDelivered: the target receives the transformer's
// output, not the event.
func TestInputTransformerDelivered(t *testing.T) {
	in := servertest.Start(t)
	s := newSink(t)
	dest := servertest.APIDestination(t, in.Events, "tx", s.srv.URL)
	putRule(t, in.Events, "", "tx", `{"source":["app"]}`, types.Target{
		Id: aws.String("t"), Arn: aws.String(dest),
		InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.id", "state": "$.detail.state"},
			InputTemplate: aws.String(`{"instance": <id>, "text": "<id> is <state>", "rule": <aws.events.rule-name>}`),
		},
	})
	putEvent(t, in.Events, "", "app", `{"id":"i-1","state":"stopped"}`)
	got := s.wait(t, 1)[0]
	want := `{"instance": "i-1", "text": "i-1 is stopped", "rule": "tx"}`
	if string(got) != want {
		t.Errorf("target got %s, want %s", got, want)
	}
}

// TestBusToBus: a rule on the default bus forwards to another bus, whose
// own rule delivers to an HTTP target.
func TestBusToBus(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	s := newSink(t)
	bus, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	dest := servertest.APIDestination(t, in.Events, "orders-hook", s.srv.URL)
	putRule(t, in.Events, "orders", "all-orders", `{"source":["shop"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	putRule(t, in.Events, "", "forward", `{"source":["shop"]}`, types.Target{Id: aws.String("b"), Arn: bus.EventBusArn})
	id := putEvent(t, in.Events, "", "shop", `{"order":1}`)
	got := s.wait(t, 1)[0]
	var ev struct {
		ID     string              `json:"id"`
		Detail struct{ Order int } `json:"detail"`
	}
	if err := json.Unmarshal(got, &ev); err != nil || ev.Detail.Order != 1 || ev.ID != id {
		t.Errorf("target got %s (%v), want the event %s", got, err, id)
	}
}

// TestLogTarget: a CloudWatch Logs log-group target appends the event to a
// file under the data directory.
func TestLogTarget(t *testing.T) {
	in := servertest.Start(t)
	putRule(t, in.Events, "", "to-log", `{"source":["app"]}`, types.Target{
		Id: aws.String("log"), Arn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:/conveyor/test"),
	})
	id := putEvent(t, in.Events, "", "app", `{"n":1}`)
	path := filepath.Join(in.Config.DataDir, "logs", "conveyor", "test.log")
	var b []byte
	waitfor.Err(t, waitfor.Timeout, "the event in the log file", func() error {
		if b, _ = os.ReadFile(path); !bytes.Contains(b, []byte(id)) {
			return fmt.Errorf("%s does not hold event %s: %q", path, id, b)
		}
		return nil
	})
	if !bytes.HasSuffix(b, []byte("\n")) || bytes.Count(b, []byte("\n")) != 1 {
		t.Errorf("log file %q: want one JSON line", b)
	}
}

// TestRuleStatesAndTargetRemoval: a disabled rule delivers nothing; enabled
// again it does; once its target is removed it stops.
func TestRuleStatesAndTargetRemoval(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	s := newSink(t)
	dest := servertest.APIDestination(t, in.Events, "st", s.srv.URL)
	putRule(t, in.Events, "", "st", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	if _, err := in.Events.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("st")}); err != nil {
		t.Fatal(err)
	}
	putEvent(t, in.Events, "", "app", `{"n":"while-disabled"}`)
	// The router routes a bus's events in order: once an event put after it
	// is delivered, the one put while the rule was disabled has been routed
	// (without the fence, the router, when behind, could route it after
	// EnableRule took effect, and rightly deliver it then).
	fence := servertest.APIDestination(t, in.Events, "fence", s.srv.URL+"/fence")
	putRule(t, in.Events, "", "fence", `{"source":["fence"]}`, types.Target{Id: aws.String("f"), Arn: aws.String(fence)})
	waitRouted(t, in, func() { putEvent(t, in.Events, "", "fence", `{"n":"fence"}`) }, s, `"fence"`)
	if _, err := in.Events.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("st")}); err != nil {
		t.Fatal(err)
	}
	waitRouted(t, in, func() { putEvent(t, in.Events, "", "app", `{"n":"enabled"}`) }, s, "enabled")
	if _, err := in.Events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("st"), Ids: []string{"h"}}); err != nil {
		t.Fatal(err)
	}
	// A second rule with its own target shows that routing goes on; the
	// removed target must not receive the event.
	dest2 := servertest.APIDestination(t, in.Events, "st2", s.srv.URL+"/two")
	putRule(t, in.Events, "", "st2", `{"source":["app"]}`, types.Target{Id: aws.String("h2"), Arn: aws.String(dest2)})
	// Once st2 delivers, the router has applied every catalog change before
	// st2's, the removal included (the watch delivers changes in order).
	waitRouted(t, in, func() { putEvent(t, in.Events, "", "app", `{"n":"probe"}`) }, s, "probe")
	waitRouted(t, in, func() { putEvent(t, in.Events, "", "app", `{"n":"after-removal"}`) }, s, "after-removal")
	time.Sleep(100 * time.Millisecond) // a second delivery, if there were one, would arrive by now
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.bodies {
		if strings.Contains(string(b), "while-disabled") {
			t.Errorf("a disabled rule delivered %s", b)
		}
		if strings.Contains(string(b), "after-removal") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("after-removal delivered %d times, want once (by the second rule only)", n)
	}
}

// waitRouted calls put until the sink has received a body containing
// marker (catalog changes reach the router asynchronously, as on AWS).
func waitRouted(t *testing.T, in *servertest.Instance, put func(), s *sink, marker string) {
	t.Helper()
	put()
	waitfor.True(t, "a delivery containing "+strconv.Quote(marker), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.bodies {
			if strings.Contains(string(b), marker) {
				return true
			}
		}
		return false
	})
}

// TestRetriesThenSuccess: a target that fails twice with 503 gets the event
// on the third attempt.
func TestRetriesThenSuccess(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.RetryBackoff = 10 * time.Millisecond })
	var calls atomic.Int32
	got := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		got <- b.Bytes()
	}))
	defer srv.Close()
	dest := servertest.APIDestination(t, in.Events, "flaky", srv.URL)
	putRule(t, in.Events, "", "flaky", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	id := putEvent(t, in.Events, "", "app", `{}`)
	select {
	case b := <-got:
		if !strings.Contains(string(b), id) || calls.Load() != 3 {
			t.Errorf("delivered %s after %d calls, want event %s on call 3", b, calls.Load(), id)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("not delivered after %d calls", calls.Load())
	}
}

// TestHealthAndMetrics: /healthz answers, /metrics shows EventBridge-named
// metrics per bus and rule after an event was routed.
func TestHealthAndMetrics(t *testing.T) {
	in := servertest.Start(t)
	s := newSink(t)
	dest := servertest.APIDestination(t, in.Events, "m", s.srv.URL)
	putRule(t, in.Events, "", "m", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	putEvent(t, in.Events, "", "app", `{}`)
	s.wait(t, 1)
	resp, err := http.Get(in.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	var body bytes.Buffer
	waitfor.True(t, "/metrics to count the invocation", func() bool {
		resp, err = http.Get(in.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body.Reset()
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		return strings.Contains(body.String(), `conveyor_invocations_total{event_bus_name="default",rule_name="m"} 1`)
	})
	for _, want := range []string{
		`conveyor_matched_events_total{event_bus_name="default"} 1`,
		`conveyor_triggered_rules_total{event_bus_name="default",rule_name="m"} 1`,
		`conveyor_invocations_total{event_bus_name="default",rule_name="m"} 1`,
		`conveyor_put_events_entries_total 1`,
	} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestDeleteBusWithRules: deleting a bus drops its rules and their targets;
// events for it are refused per entry, and a new bus of the same name starts
// empty.
func TestDeleteBusWithRules(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	s := newSink(t)
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	dest := servertest.APIDestination(t, in.Events, "temp", s.srv.URL)
	putRule(t, in.Events, "temp", "r", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	putEvent(t, in.Events, "temp", "app", `{"n":"before"}`)
	s.wait(t, 1)
	if _, err := in.Events.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	out, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`), EventBusName: aws.String("temp"),
	}}})
	// Accepted, as EventBridge accepts an event for a bus that does not exist, and routed nowhere.
	if err != nil || out.FailedEntryCount != 0 || aws.ToString(out.Entries[0].EventId) == "" {
		t.Fatalf("PutEvents to a deleted bus: %v %+v", err, out)
	}
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	rules, err := in.Events.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("temp")})
	if err != nil || len(rules.Rules) != 0 {
		t.Fatalf("new bus has rules %+v (%v)", rules, err)
	}
	putEvent(t, in.Events, "temp", "app", `{"n":"after"}`)
	time.Sleep(200 * time.Millisecond) // a delivery by the deleted bus's rule, if there were one, would arrive by now
	if got := s.wait(t, 1); len(got) != 1 {
		t.Errorf("the deleted bus's rule delivered again: %d bodies", len(got))
	}
}

// TestHangingTargetDoesNotSlowOthers: a rule target that never answers
// (each request runs into the HTTP timeout) holds up neither PutEvents nor
// another target of the same events, whether their deliveries are made
// directly from the bus or through the delivery stream.
func TestHangingTargetDoesNotSlowOthers(t *testing.T) {
	in := servertest.Start(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	var got atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	defer ok.Close()
	hangDest := servertest.APIDestination(t, in.Events, "hang", hang.URL)
	okDest := servertest.APIDestination(t, in.Events, "ok", ok.URL)
	putRule(t, in.Events, "", "both", `{"source":["app"]}`,
		types.Target{Id: aws.String("hang"), Arn: aws.String(hangDest)},
		types.Target{Id: aws.String("ok"), Arn: aws.String(okDest)})
	const calls = 70 // 700 events: more than the hanging target takes for direct delivery
	var entries []types.PutEventsRequestEntry
	for range 10 {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)})
	}
	start := time.Now()
	var slowest time.Duration
	for range calls {
		t0 := time.Now()
		out, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		slowest = max(slowest, time.Since(t0))
	}
	sent := time.Now()
	waitfor.Err(t, 20*time.Second, "every event at the healthy target", func() error {
		if n := got.Load(); n < calls*10 {
			return fmt.Errorf("got %d of %d", n, calls*10)
		}
		return nil
	})
	took := time.Since(start)
	t.Logf("%d events put in %v, all at the healthy target after %v; slowest PutEvents %v", calls*10, sent.Sub(start), took, slowest)
	// The hanging target's requests each take 5s (the HTTP timeout): had
	// they held up routing, the healthy target would wait at least that.
	if slowest > 2*time.Second {
		t.Errorf("a PutEvents call took %v while a target hangs", slowest)
	}
	if took > 4500*time.Millisecond {
		t.Errorf("the healthy target got all events after %v, want them before the hanging target's 5s timeout", took)
	}
}

// TestSlowDeliveryRoutedOnce: a delivery that takes longer than the bus's ack
// wait does not make the bus hand its event out again (the router reports
// its progress), so the target gets it once.
func TestSlowDeliveryRoutedOnce(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.RouteAckWait = time.Second })
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(2500 * time.Millisecond) // two and a half ack waits
	}))
	defer slow.Close()
	dest := servertest.APIDestination(t, in.Events, "slow", slow.URL)
	putRule(t, in.Events, "", "slow", `{"source":["app"]}`, types.Target{Id: aws.String("s"), Arn: aws.String(dest)})
	putEvent(t, in.Events, "", "app", `{}`)
	waitfor.True(t, "the first call", func() bool { return calls.Load() > 0 })
	time.Sleep(4 * time.Second) // the first call's 2.5s, and room for a second one
	if n := calls.Load(); n != 1 {
		t.Fatalf("the slow target was called %d times, want once", n)
	}
}
