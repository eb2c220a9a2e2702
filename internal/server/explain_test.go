package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// conveyorEvents calls a ConveyorEvents operation and returns the status and body.
func conveyorEvents(t *testing.T, in *servertest.Instance, op string, input any) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(input)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, in.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "ConveyorEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ExplainEventBus says which rules of a bus an event matches, and for the others which field
// failed, with the pattern's condition and the event's value; ExplainEventPattern does it for
// one pattern, with EventBridge's errors for a bad pattern or event.
func TestExplain(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	for name, p := range map[string]string{
		"stopped":  `{"source":["aws.ec2"],"detail":{"state":["stopped","terminated"]}}`,
		"any-ec2":  `{"source":["aws.ec2"]}`,
		"s3":       `{"source":["aws.s3"]}`,
		"big-ones": `{"detail":{"size":[{"numeric":[">",100]}]}}`,
	} {
		if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 hour)")}); err != nil {
		t.Fatal(err)
	}
	event := `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"state":"pending"}}`
	status, body := conveyorEvents(t, in, "ExplainEventBus", map[string]string{"EventBusName": "default", "Event": event})
	if status != 200 {
		t.Fatalf("ExplainEventBus: %d %s", status, body)
	}
	var out struct {
		Rules []struct {
			Name         string
			Result       bool
			Alternatives []struct {
				Fields []struct {
					Path      string
					Condition json.RawMessage
					Values    []json.RawMessage
					Missing   bool
					Matched   bool
				}
			}
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	why := map[string]string{}
	for _, r := range out.Rules {
		got[r.Name] = r.Result
		for _, f := range r.Alternatives[0].Fields {
			if !f.Matched {
				vs, _ := json.Marshal(f.Values)
				why[r.Name] = f.Path + " " + string(f.Condition) + " " + string(vs) + map[bool]string{true: " missing"}[f.Missing]
			}
		}
	}
	if len(got) != 4 || !got["any-ec2"] || got["stopped"] || got["s3"] || got["big-ones"] {
		t.Errorf("results %v (the schedule rule has no pattern and is not listed)", got)
	}
	want := map[string]string{
		"stopped":  `detail.state ["stopped","terminated"] ["pending"]`,
		"s3":       `source ["aws.s3"] ["aws.ec2"]`,
		"big-ones": `detail.size [{"numeric":[">",100]}] null missing`,
	}
	for name, w := range want {
		if why[name] != w {
			t.Errorf("why not %s: %q, want %q", name, why[name], w)
		}
	}
	status, body = conveyorEvents(t, in, "ExplainEventPattern", map[string]string{"EventPattern": `{"source":[{"prefix":1}]}`, "Event": event})
	if status != 400 || !bytes.Contains(body, []byte("InvalidEventPatternException")) {
		t.Errorf("bad pattern: %d %s", status, body)
	}
	status, body = conveyorEvents(t, in, "ExplainEventPattern", map[string]string{"EventPattern": `{"source":["x"]}`, "Event": `[1]`})
	if status != 400 || !bytes.Contains(body, []byte("Parameter Event is not valid.")) {
		t.Errorf("bad event: %d %s", status, body)
	}
	status, body = conveyorEvents(t, in, "ExplainEventBus", map[string]string{"EventBusName": "nope", "Event": event})
	if status != 400 || !bytes.Contains(body, []byte("ResourceNotFoundException")) {
		t.Errorf("unknown bus: %d %s", status, body)
	}
}

// DescribeSchedule lists the next firing times of an expression, and refuses one PutRule
// refuses with PutRule's error.
func TestDescribeSchedule(t *testing.T) {
	in := servertest.Start(t)
	status, body := conveyorEvents(t, in, "DescribeSchedule", map[string]any{"ScheduleExpression": "cron(0 12 ? * MON-FRI *)", "Count": 3})
	var out struct{ NextFiringTimes []float64 }
	if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.NextFiringTimes) != 3 {
		t.Fatalf("cron: %d %s", status, body)
	}
	for i, ts := range out.NextFiringTimes {
		at := time.Unix(int64(ts), 0).UTC()
		if at.Hour() != 12 || at.Minute() != 0 || at.Weekday() == time.Saturday || at.Weekday() == time.Sunday ||
			(i > 0 && ts <= out.NextFiringTimes[i-1]) {
			t.Errorf("firing %d at %v", i, at)
		}
	}
	status, body = conveyorEvents(t, in, "DescribeSchedule", map[string]any{"ScheduleExpression": "rate(5 minutes)"})
	if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.NextFiringTimes) != 5 ||
		out.NextFiringTimes[1]-out.NextFiringTimes[0] != 300 {
		t.Errorf("rate: %d %s", status, body)
	}
	status, body = conveyorEvents(t, in, "DescribeSchedule", map[string]any{"ScheduleExpression": "rate(5 minute)"})
	if status != 400 || !bytes.Contains(body, []byte("Parameter ScheduleExpression is not valid.")) {
		t.Errorf("bad expression: %d %s", status, body)
	}
}

// ListRecentEvents answers a bus's latest events, newest first. The events go to a bus of
// their own: the default bus also receives the API calls themselves, when they get there.
func TestListRecentEvents(t *testing.T) {
	in := servertest.Start(t)
	if _, err := in.Events.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	status, body := conveyorEvents(t, in, "ListRecentEvents", map[string]any{"EventBusName": "orders"})
	if status != 200 || string(body) != `{"Events":[]}` {
		t.Fatalf("empty bus: %d %s", status, body)
	}
	for i := range 3 {
		if _, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String("orders"), Source: aws.String("shop"), DetailType: aws.String("Order Placed"),
			Detail: aws.String(fmt.Sprintf(`{"n":%d}`, i))}}}); err != nil {
			t.Fatal(err)
		}
	}
	status, body = conveyorEvents(t, in, "ListRecentEvents", map[string]any{"EventBusName": "orders", "MaxResults": 2})
	var out struct{ Events []string }
	if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.Events) != 2 {
		t.Fatalf("recent: %d %s", status, body)
	}
	var first, second struct{ Detail struct{ N int } }
	_ = json.Unmarshal([]byte(out.Events[0]), &first)
	_ = json.Unmarshal([]byte(out.Events[1]), &second)
	if first.Detail.N != 2 || second.Detail.N != 1 {
		t.Errorf("recent events %v, want n=2 then n=1", out.Events)
	}
	// One call's entries, stored together, come newest first too.
	var entries []ebtypes.PutEventsRequestEntry
	for i := 3; i < 6; i++ {
		entries = append(entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String("orders"), Source: aws.String("shop"),
			DetailType: aws.String("Order Placed"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if _, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries}); err != nil {
		t.Fatal(err)
	}
	status, body = conveyorEvents(t, in, "ListRecentEvents", map[string]any{"EventBusName": "orders", "MaxResults": 4})
	out.Events = nil
	if err := json.Unmarshal(body, &out); status != 200 || err != nil {
		t.Fatalf("recent: %d %s", status, body)
	}
	var ns []int
	for _, e := range out.Events {
		var ev struct{ Detail struct{ N int } }
		_ = json.Unmarshal([]byte(e), &ev)
		ns = append(ns, ev.Detail.N)
	}
	if fmt.Sprint(ns) != "[5 4 3 2]" {
		t.Errorf("recent events after a call of three: n = %v, want [5 4 3 2]", ns)
	}
	if status, _ := conveyorEvents(t, in, "ListRecentEvents", map[string]any{"EventBusName": "nope"}); status != 400 {
		t.Errorf("unknown bus: %d", status)
	}
}
