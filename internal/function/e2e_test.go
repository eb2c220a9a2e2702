package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/function"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// recorder is a local function's script: it writes its standard input to
// <dir>/<request id>.json and its environment to <dir>/<request id>.env,
// then exits with the status in <dir>/status (0 when absent).
const recorder = `#!/bin/sh
set -e
dir="$1"
cat > "$dir/$CONVEYOR_REQUEST_ID.json.tmp"
env > "$dir/$CONVEYOR_REQUEST_ID.env"
mv "$dir/$CONVEYOR_REQUEST_ID.json.tmp" "$dir/$CONVEYOR_REQUEST_ID.json"
echo "got event $CONVEYOR_EVENT_ID"
status=0
[ -f "$dir/status" ] && status=$(cat "$dir/status")
[ "$status" = 0 ] || echo "failing on purpose with $status" >&2
exit "$status"
`

// fn is a local function that records its invocations in a directory.
type fn struct {
	name string
	dir  string
	spec function.Spec
}

func newFn(t *testing.T, name string) *fn {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(t.TempDir(), "record.sh")
	if err := os.WriteFile(script, []byte(recorder), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fn{name: name, dir: dir, spec: function.Spec{Name: name, Command: []string{script, dir}}}
}

func (f *fn) fail(t *testing.T, status int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "status"), []byte(strconv.Itoa(status)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// invocation is one recorded run.
type invocation struct {
	event map[string]any
	raw   []byte
	env   map[string]string
}

// runs returns the recorded invocations (those whose event file is
// complete), oldest first.
func (f *fn) runs(t *testing.T) []invocation {
	t.Helper()
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	type stamped struct {
		inv invocation
		at  time.Time
	}
	var out []stamped
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		envb, err := os.ReadFile(filepath.Join(f.dir, id+".env"))
		if err != nil {
			t.Fatal(err)
		}
		inv := invocation{raw: raw, env: map[string]string{}}
		if err := json.Unmarshal(raw, &inv.event); err != nil {
			t.Fatalf("function stdin %q: %v", raw, err)
		}
		for line := range strings.SplitSeq(string(envb), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				inv.env[k] = v
			}
		}
		info, _ := e.Info()
		out = append(out, stamped{inv, info.ModTime()})
	}
	slices.SortStableFunc(out, func(a, b stamped) int { return a.at.Compare(b.at) })
	invs := make([]invocation, len(out))
	for i, s := range out {
		invs[i] = s.inv
	}
	return invs
}

// wait waits until the function has run n times and returns the runs.
func (f *fn) wait(t *testing.T, n int) []invocation {
	t.Helper()
	var runs []invocation
	waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("%d runs of function %s", n, f.name), func() error {
		if runs = f.runs(t); len(runs) < n {
			return fmt.Errorf("it ran %d times", len(runs))
		}
		return nil
	})
	return runs
}

func putRule(t *testing.T, c *eventbridge.Client, name, pattern string, tg types.Target) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []types.Target{tg}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
}

const ec2Pattern = `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped","terminated"]}}`

func putEC2(t *testing.T, c *eventbridge.Client, state string) string {
	t.Helper()
	out, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source:     aws.String("aws.ec2"),
		DetailType: aws.String("EC2 Instance State-change Notification"),
		Detail:     aws.String(`{"instance-id":"i-1234567890abcdef0","state":"` + state + `"}`),
		Resources:  []string{"arn:aws:ec2:us-east-1:000000000000:instance/i-1234567890abcdef0"},
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents(%s): %v %+v", state, err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

// TestEC2ExampleLocalFunction is the seed's example end to end: a rule on
// the default bus for stopped or terminated EC2 instances runs a local
// function with the event on its standard input; a pending instance does
// not.
func TestEC2ExampleLocalFunction(t *testing.T) {
	t.Parallel()
	notify := newFn(t, "notify")
	in := servertest.Start(t, servertest.Verified(t), func(c *server.Config) {
		c.TrustedSources = []string{servertest.AccessKeyID}
		c.Functions = []function.Spec{notify.spec}
	})
	c := in.Events
	arn := "arn:aws:lambda:" + in.Config.Region + ":" + in.Config.Account + ":function:notify"
	putRule(t, c, "ec2-stopped", ec2Pattern, types.Target{Id: aws.String("notify"), Arn: aws.String(arn)})

	putEC2(t, c, "pending")
	id := putEC2(t, c, "stopped")
	runs := notify.wait(t, 1)
	ev := runs[0].event
	detail, _ := ev["detail"].(map[string]any)
	if ev["id"] != id || ev["source"] != "aws.ec2" || ev["detail-type"] != "EC2 Instance State-change Notification" ||
		detail["state"] != "stopped" || ev["account"] != in.Config.Account || ev["region"] != in.Config.Region {
		t.Errorf("function got %s, want the stopped event %s", runs[0].raw, id)
	}
	env := runs[0].env
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "notify",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/notify",
		"AWS_REGION":                      in.Config.Region,
		"CONVEYOR_EVENT_ID":               id,
		"CONVEYOR_FUNCTION_ARN":           arn,
		"CONVEYOR_RULE_ARN":               "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":rule/ec2-stopped",
		"CONVEYOR_TARGET_ID":              "notify",
		"CONVEYOR_ATTEMPT":                "1",
		"PATH":                            os.Getenv("PATH"), // Conveyor's own environment is passed on
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("function env %s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_LOG_STREAM_NAME"], time.Now().UTC().Format("2006/01/02")+"/[$LATEST]") {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}

	// The pending event must not run the function: one more matching event
	// is the second and last run.
	putEC2(t, c, "terminated")
	notify.wait(t, 2)
	time.Sleep(200 * time.Millisecond) // a third run, if there were one, would start by now
	runs = notify.runs(t)
	if len(runs) != 2 || !bytes.Contains(runs[1].raw, []byte(`"terminated"`)) {
		t.Errorf("function ran %d times, last with %s; want exactly stopped then terminated", len(runs), runs[len(runs)-1].raw)
	}
}

// dlq creates an SQS queue for dead letters and returns its URL and ARN.
func dlq(t *testing.T, in *servertest.Instance, name string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attrs, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return aws.ToString(q.QueueUrl), attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// receive waits for one message on the queue.
func receive(t *testing.T, in *servertest.Instance, url string) sqstypes.Message {
	t.Helper()
	var msg sqstypes.Message
	waitfor.True(t, "a message on "+url, func() bool {
		out, err := in.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return false
		}
		msg = out.Messages[0]
		return true
	})
	return msg
}

// TestFailingFunctionRetriedThenDeadLettered: a function that exits with a
// non-zero status is retried MaximumRetryAttempts times, then the event
// goes to the target's dead-letter queue with the error.
func TestFailingFunctionRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	broken := newFn(t, "broken")
	broken.fail(t, 3)
	in := servertest.Start(t, func(c *server.Config) {
		c.Functions = []function.Spec{broken.spec}
		c.RetryBackoff = 10 * time.Millisecond
	})
	dlqURL, dlqARN := dlq(t, in, "broken-dlq")
	arn := "arn:aws:lambda:" + in.Config.Region + ":" + in.Config.Account + ":function:broken"
	putRule(t, in.Events, "orders", `{"source":["shop"]}`, types.Target{
		Id: aws.String("broken"), Arn: aws.String(arn),
		RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(2)},
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqARN)},
	})
	out, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"order":1}`),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	id := aws.ToString(out.Entries[0].EventId)
	msg := receive(t, in, dlqURL)
	var ev map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &ev); err != nil || ev["id"] != id {
		t.Errorf("dead letter body %q, want the event %s (%v)", aws.ToString(msg.Body), id, err)
	}
	attr := func(k string) string { return aws.ToString(msg.MessageAttributes[k].StringValue) }
	if attr("ERROR_CODE") != function.CodeFunctionError || attr("RETRY_ATTEMPTS") != "2" ||
		attr("EXHAUSTED_RETRY_CONDITION") != "MaximumRetryAttempts" || attr("TARGET_ARN") != arn ||
		!strings.Contains(attr("ERROR_MESSAGE"), "exit status 3: failing on purpose with 3") {
		t.Errorf("dead letter attributes: ERROR_CODE %q RETRY_ATTEMPTS %q EXHAUSTED_RETRY_CONDITION %q TARGET_ARN %q ERROR_MESSAGE %q",
			attr("ERROR_CODE"), attr("RETRY_ATTEMPTS"), attr("EXHAUSTED_RETRY_CONDITION"), attr("TARGET_ARN"), attr("ERROR_MESSAGE"))
	}
	runs := broken.runs(t)
	if len(runs) != 3 {
		t.Fatalf("function ran %d times, want 3 (1 + MaximumRetryAttempts 2)", len(runs))
	}
	for i, r := range runs {
		if got := r.env["CONVEYOR_ATTEMPT"]; got != strconv.Itoa(i+1) {
			t.Errorf("run %d: CONVEYOR_ATTEMPT = %q", i, got)
		}
		if r.event["id"] != id {
			t.Errorf("run %d got event %s", i, r.raw)
		}
	}
	if n := in.Counter(t, "conveyor_invocation_attempts_total"); n != 3 {
		t.Errorf("invocation attempts = %v, want 3", n)
	}
}

// TestRemoteFunction: a function that is not local is invoked through the
// Lambda API at --lambda-endpoint, signed with the configured credentials;
// a local function of the same name wins; a function Lambda does not know
// is dead-lettered at once.
func TestRemoteFunction(t *testing.T) {
	t.Parallel()
	fake := newFakeLambda(t, "us-east-1", "resize", "notify")
	notify := newFn(t, "notify")
	in := servertest.Start(t, func(c *server.Config) {
		c.Functions = []function.Spec{notify.spec}
		c.LambdaEndpoint = fake.srv.URL
		c.LambdaCredentials = credentials.NewStaticCredentialsProvider(fakeKey, fakeSecret, "")
		c.RetryBackoff = 10 * time.Millisecond
	})
	dlqURL, dlqARN := dlq(t, in, "remote-dlq")
	fnARN := func(name string) string {
		return "arn:aws:lambda:" + in.Config.Region + ":123456789012:function:" + name
	}
	for _, name := range []string{"resize", "notify", "missing"} {
		putRule(t, in.Events, "to-"+name, `{"source":["shop"]}`, types.Target{
			Id: aws.String(name), Arn: aws.String(fnARN(name)),
			InputPath:        aws.String("$.detail"),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(5)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqARN)},
		})
	}
	out, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"order":42}`),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	calls := fake.wait(t, 1)
	if calls[0].Function != fnARN("resize") || string(calls[0].Body) != `{"order":42}` {
		t.Errorf("Lambda got %s with %s, want %s with the transformed event", calls[0].Function, calls[0].Body, fnARN("resize"))
	}
	runs := notify.wait(t, 1)
	if string(runs[0].raw) != `{"order":42}` {
		t.Errorf("local notify got %s", runs[0].raw)
	}
	msg := receive(t, in, dlqURL)
	attr := func(k string) string { return aws.ToString(msg.MessageAttributes[k].StringValue) }
	if attr("ERROR_CODE") != delivery.CodeResourceNotFound || attr("RETRY_ATTEMPTS") != "0" || attr("TARGET_ARN") != fnARN("missing") ||
		!strings.Contains(attr("ERROR_MESSAGE"), "ResourceNotFoundException: Function not found") {
		t.Errorf("dead letter: ERROR_CODE %q RETRY_ATTEMPTS %q TARGET_ARN %q ERROR_MESSAGE %q",
			attr("ERROR_CODE"), attr("RETRY_ATTEMPTS"), attr("TARGET_ARN"), attr("ERROR_MESSAGE"))
	}
	time.Sleep(100 * time.Millisecond) // a second invocation, if there were one, would reach Lambda by now
	if calls, _ := fake.snapshot(); len(calls) != 1 {
		t.Errorf("Lambda got %d invocations, want 1 (notify is local)", len(calls))
	}
}

// TestUnknownFunction: with no local function of that name and no Lambda
// endpoint, the event goes to the dead-letter queue at once.
func TestUnknownFunction(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, func(c *server.Config) { c.RetryBackoff = 10 * time.Millisecond })
	dlqURL, dlqARN := dlq(t, in, "unknown-dlq")
	arn := "arn:aws:lambda:" + in.Config.Region + ":" + in.Config.Account + ":function:nowhere"
	putRule(t, in.Events, "lost", `{"source":["shop"]}`, types.Target{
		Id: aws.String("nowhere"), Arn: aws.String(arn),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqARN)},
	})
	if _, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{}`),
	}}}); err != nil {
		t.Fatal(err)
	}
	msg := receive(t, in, dlqURL)
	attr := func(k string) string { return aws.ToString(msg.MessageAttributes[k].StringValue) }
	if attr("ERROR_CODE") != delivery.CodeResourceNotFound || attr("RETRY_ATTEMPTS") != "0" ||
		attr("ERROR_MESSAGE") != "ResourceNotFoundException: Function not found: "+arn+" (no local function nowhere, and no Lambda endpoint configured)" {
		t.Errorf("dead letter: ERROR_CODE %q RETRY_ATTEMPTS %q ERROR_MESSAGE %q", attr("ERROR_CODE"), attr("RETRY_ATTEMPTS"), attr("ERROR_MESSAGE"))
	}
	if n := in.Counter(t, "conveyor_invocation_attempts_total"); n != 1 {
		t.Errorf("attempts = %v, want 1", n)
	}
}
