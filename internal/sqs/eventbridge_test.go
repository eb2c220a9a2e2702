package sqs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// endpoint is an HTTP target that fails (500) until told to succeed.
type endpoint struct {
	srv  *httptest.Server
	ok   atomic.Bool
	hits atomic.Int32
	mu   sync.Mutex
	got  [][]byte
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		if !e.ok.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		e.mu.Lock()
		e.got = append(e.got, b)
		e.mu.Unlock()
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) received() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.got...)
}

func putRule(t *testing.T, c *eventbridge.Client, name string, targets ...ebtypes.Target) string {
	t.Helper()
	ctx := ctxT(t)
	r, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["app.orders"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %+v, %v", out, err)
	}
	return aws.ToString(r.RuleArn)
}

func putEvent(t *testing.T, c *eventbridge.Client, detail string) string {
	t.Helper()
	out, err := c.PutEvents(ctxT(t), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("app.orders"), DetailType: aws.String("Order Placed"), Detail: aws.String(detail)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %+v, %v", out, err)
	}
	return aws.ToString(out.Entries[0].EventId)
}

func fast(c *server.Config) { c.RetryBackoff = 10 * time.Millisecond }

// TestDeadLetterQueue: an HTTP target that always fails, with no retry,
// dead-letters the event into a queue, where ReceiveMessage reads it with
// EventBridge's attributes; RedriveDeadLetters then delivers it to the
// target once it works.
func TestDeadLetterQueue(t *testing.T) {
	in := servertest.Start(t, fast)
	ctx := ctxT(t)
	ep := newEndpoint(t)
	dlqURL := createQueue(t, in.SQS, "failures", nil)
	dlqARN := queueAttrs(t, in.SQS, dlqURL)["QueueArn"]
	dest := servertest.APIDestination(t, in.Events, "hook", ep.srv.URL+"/hook")
	ruleARN := putRule(t, in.Events, "orders-hook", ebtypes.Target{Id: aws.String("hook"), Arn: aws.String(dest),
		InputPath:        aws.String("$.detail"),
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlqARN)}})
	putEvent(t, in.Events, `{"order":1}`)

	msgs := receive(t, in.SQS, dlqURL, &sqs.ReceiveMessageInput{WaitTimeSeconds: 10, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if len(msgs) != 1 {
		t.Fatalf("dead letters: %v", msgs)
	}
	m := msgs[0]
	if aws.ToString(m.Body) != `{"order":1}` {
		t.Errorf("dead letter body %s", aws.ToString(m.Body))
	}
	attr := func(name string) string { return aws.ToString(m.MessageAttributes[name].StringValue) }
	want := map[string]string{"ERROR_CODE": "SDK_CLIENT_ERROR", "RULE_ARN": ruleARN, "TARGET_ARN": dest,
		"EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "0"}
	for k, v := range want {
		if attr(k) != v {
			t.Errorf("attribute %s = %q, want %q", k, attr(k), v)
		}
	}
	if !strings.Contains(attr("ERROR_MESSAGE"), "500") {
		t.Errorf("ERROR_MESSAGE = %q", attr("ERROR_MESSAGE"))
	}
	if dt := aws.ToString(m.MessageAttributes["RETRY_ATTEMPTS"].DataType); dt != "Number" {
		t.Errorf("RETRY_ATTEMPTS type %s", dt)
	}
	if aws.ToString(m.MD5OfMessageAttributes) == "" || m.Attributes["SentTimestamp"] == "" {
		t.Errorf("message %+v", m)
	}
	if ep.hits.Load() != 1 {
		t.Errorf("target called %d times, want 1 (no retry)", ep.hits.Load())
	}
	// Make it visible again, then redrive it to the target, which now works.
	if _, err := in.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &dlqURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	ep.ok.Store(true)
	out := redrive(t, in, dlqURL)
	if out.Redriven != 1 || len(out.Skipped) != 0 {
		t.Fatalf("redrive = %+v", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(ep.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ep.received(); len(got) != 1 || string(got[0]) != `{"order":1}` {
		t.Fatalf("target received %q after redrive", got)
	}
	if got := counts(t, in.SQS, dlqURL); got != "0/0/0" {
		t.Errorf("dead-letter queue after redrive: %s", got)
	}
}

type redriveResult struct {
	Redriven int
	Skipped  []struct{ MessageId, Reason string }
}

// redrive calls ConveyorQueues.RedriveDeadLetters.
func redrive(t *testing.T, in *servertest.Instance, queueURL string) redriveResult {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"QueueUrl": queueURL})
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, in.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "ConveyorQueues.RedriveDeadLetters")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("RedriveDeadLetters: %d %s", resp.StatusCode, b)
	}
	var out redriveResult
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedriveTakesOnlyWhatIsThere: dead letters redriven to a target that
// still fails come back to the same queue; the redrive that sent them does
// not take them again (it once went round until it ran out of time).
func TestRedriveTakesOnlyWhatIsThere(t *testing.T) {
	in := servertest.Start(t, fast)
	ep := newEndpoint(t)
	dlqURL := createQueue(t, in.SQS, "failures", nil)
	dlqARN := queueAttrs(t, in.SQS, dlqURL)["QueueArn"]
	dest := servertest.APIDestination(t, in.Events, "hook", ep.srv.URL+"/hook")
	putRule(t, in.Events, "orders-hook", ebtypes.Target{Id: aws.String("hook"), Arn: aws.String(dest),
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlqARN)}})
	const n = 35
	for i := range n {
		putEvent(t, in.Events, fmt.Sprintf(`{"order":%d}`, i))
	}
	waitCounts := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for got := counts(t, in.SQS, dlqURL); got != want; got = counts(t, in.SQS, dlqURL) {
			if time.Now().After(deadline) {
				t.Fatalf("dead-letter queue counts %s, want %s", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCounts(fmt.Sprintf("%d/0/0", n))
	for range 2 {
		if out := redrive(t, in, dlqURL); out.Redriven != n || len(out.Skipped) != 0 {
			t.Fatalf("redrive = %d redriven, %d skipped; want %d", out.Redriven, len(out.Skipped), n)
		}
		waitCounts(fmt.Sprintf("%d/0/0", n))
	}
}

// TestRedriveSkipsOtherMessages: messages that are not dead letters of an
// existing rule target stay in the queue.
func TestRedriveSkipsOtherMessages(t *testing.T) {
	in := servertest.Start(t)
	url := createQueue(t, in.SQS, "plain", nil)
	send(t, in.SQS, url, "not a dead letter")
	out := redrive(t, in, url)
	if out.Redriven != 0 || len(out.Skipped) != 1 || !strings.Contains(out.Skipped[0].Reason, "RULE_ARN") {
		t.Fatalf("redrive = %+v", out)
	}
	if got := counts(t, in.SQS, url); got != "1/0/0" {
		t.Errorf("counts after redrive = %s", got)
	}
}

// TestMissingDeadLetterQueue: a DeadLetterConfig naming a queue that does not
// exist does not create it; the event is dropped and counted, as
// EventBridge does.
func TestMissingDeadLetterQueue(t *testing.T) {
	in := servertest.Start(t, fast)
	ep := newEndpoint(t)
	dest := servertest.APIDestination(t, in.Events, "hook", ep.srv.URL)
	putRule(t, in.Events, "r", ebtypes.Target{Id: aws.String("hook"), Arn: aws.String(dest),
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:nowhere")}})
	putEvent(t, in.Events, `{}`)
	metric := func() float64 { return in.Counter(t, "conveyor_invocations_failed_to_be_sent_to_dlq_total") }
	waitfor.Within(t, 10*time.Second, "the dead letter to fail", func() bool { return metric() >= 1 })
	if metric() != 1 {
		t.Fatalf("failed-to-DLQ count %v", metric())
	}
	list, err := in.SQS.ListQueues(ctxT(t), &sqs.ListQueuesInput{})
	if err != nil || len(list.QueueUrls) != 0 {
		t.Errorf("queues: %v, %v", list, err)
	}
	// Creating the queue later finds it empty, and later failures land in it.
	url := createQueue(t, in.SQS, "nowhere", nil)
	if got := counts(t, in.SQS, url); got != "0/0/0" {
		t.Errorf("counts = %s", got)
	}
	putEvent(t, in.Events, `{"n":2}`)
	if msgs := receive(t, in.SQS, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 10}); len(msgs) != 1 {
		t.Errorf("dead letters after the queue was created: %v", msgs)
	}
}

// TestFIFODeadLetterRefused: a FIFO queue is no dead-letter queue, of a
// target or of a bus (a dead letter belongs to no message group); PutTargets
// changes nothing then, as on AWS.
func TestFIFODeadLetterRefused(t *testing.T) {
	in := servertest.Start(t, fast)
	ctx := ctxT(t)
	dlq := queueAttrs(t, in.SQS, createQueue(t, in.SQS, "dead.fifo", map[string]string{"FifoQueue": "true"}))["QueueArn"]
	target := queueAttrs(t, in.SQS, createQueue(t, in.SQS, "orders", nil))["QueueArn"]
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["app.orders"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{
		{Id: aws.String("ok"), Arn: aws.String(target)},
		{Id: aws.String("q"), Arn: aws.String(target), DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlq)}}}})
	const want = "SQS FIFO is not supported by Dead Letter Queues."
	if errCode(err) != "ValidationException" || errMessage(err) != want {
		t.Errorf("PutTargets with a FIFO dead-letter queue: %v, want ValidationException %q", err, want)
	}
	if l, err := in.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")}); err != nil || len(l.Targets) != 0 {
		t.Errorf("targets after the refused PutTargets: %v, %v", l, err)
	}
	_, err = in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("b"),
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlq)}})
	if errCode(err) != "ValidationException" || errMessage(err) != want {
		t.Errorf("CreateEventBus with a FIFO dead-letter queue: %v, want ValidationException %q", err, want)
	}
}

// TestQueueTarget: a rule whose target is a queue sends the event, after the
// target's transform, as a message.
func TestQueueTarget(t *testing.T) {
	in := servertest.Start(t, fast)
	url := createQueue(t, in.SQS, "orders", nil)
	arn := queueAttrs(t, in.SQS, url)["QueueArn"]
	putRule(t, in.Events, "to-queue",
		ebtypes.Target{Id: aws.String("q"), Arn: aws.String(arn)},
		ebtypes.Target{Id: aws.String("q-detail"), Arn: aws.String(arn), InputPath: aws.String("$.detail")})
	id := putEvent(t, in.Events, `{"order":7}`)
	var bodies []string
	deadline := time.Now().Add(10 * time.Second)
	for len(bodies) < 2 && time.Now().Before(deadline) {
		for _, m := range receive(t, in.SQS, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 2, MaxNumberOfMessages: 10}) {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if len(bodies) != 2 {
		t.Fatalf("queue got %q", bodies)
	}
	var envelope, detail int
	for _, b := range bodies {
		var ev map[string]any
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		switch {
		case ev["id"] == id && ev["detail-type"] == "Order Placed":
			envelope++
		case b == `{"order":7}`:
			detail++
		}
	}
	if envelope != 1 || detail != 1 {
		t.Errorf("bodies %q", bodies)
	}
}

// TestQueueTargetMissing: a queue target that does not exist is a
// non-retryable RESOURCE_NOT_FOUND failure, dead-lettered at once.
func TestQueueTargetMissing(t *testing.T) {
	in := servertest.Start(t, fast)
	dlq := createQueue(t, in.SQS, "dlq", nil)
	putRule(t, in.Events, "to-nowhere", ebtypes.Target{Id: aws.String("q"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:gone"),
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(queueAttrs(t, in.SQS, dlq)["QueueArn"])}})
	putEvent(t, in.Events, `{}`)
	msgs := receive(t, in.SQS, dlq, &sqs.ReceiveMessageInput{WaitTimeSeconds: 10, MessageAttributeNames: []string{"ERROR_CODE"}})
	if len(msgs) != 1 || aws.ToString(msgs[0].MessageAttributes["ERROR_CODE"].StringValue) != "RESOURCE_NOT_FOUND" {
		t.Fatalf("dead letters %+v", msgs)
	}
}

// TestTransformTooLarge: a target whose InputTransformer would make an event
// larger than a target takes (a 90 KB value repeated 2,700 times: 243 MB) is
// never attempted; the event itself is dead-lettered at once with
// INVALID_PARAMETER, and the target receives nothing.
func TestTransformTooLarge(t *testing.T) {
	in := servertest.Start(t, fast)
	target := createQueue(t, in.SQS, "target", nil)
	dlq := createQueue(t, in.SQS, "dlq", nil)
	putRule(t, in.Events, "huge", ebtypes.Target{Id: aws.String("q"), Arn: aws.String(queueAttrs(t, in.SQS, target)["QueueArn"]),
		InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"v": "$.detail.big"},
			InputTemplate: aws.String(strings.Repeat("<v>", 2700))},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(queueAttrs(t, in.SQS, dlq)["QueueArn"])}})
	id := putEvent(t, in.Events, `{"big":"`+strings.Repeat("x", 90_000)+`"}`)
	msgs := receive(t, in.SQS, dlq, &sqs.ReceiveMessageInput{WaitTimeSeconds: 10, MessageAttributeNames: []string{"All"}})
	if len(msgs) != 1 {
		t.Fatalf("dead letters: %d", len(msgs))
	}
	m := msgs[0]
	if code := aws.ToString(m.MessageAttributes["ERROR_CODE"].StringValue); code != "INVALID_PARAMETER" {
		t.Errorf("ERROR_CODE %q", code)
	}
	if msg := aws.ToString(m.MessageAttributes["ERROR_MESSAGE"].StringValue); !strings.Contains(msg, "larger than 262144 bytes") {
		t.Errorf("ERROR_MESSAGE %q", msg)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.ID != id {
		t.Errorf("the dead letter is not the event %s: %v %.200s", id, err, aws.ToString(m.Body))
	}
	if got := receive(t, in.SQS, target, &sqs.ReceiveMessageInput{WaitTimeSeconds: 1}); len(got) != 0 {
		t.Errorf("the target received %d messages", len(got))
	}
}
