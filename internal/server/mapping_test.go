package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eventbridgetypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/lambda/lambdatest"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// processingQueue makes a queue and a function "process" that appends each event it is
// given to a file: the queue's URL and ARN, and the file's path.
func processingQueue(t *testing.T, in *servertest.Instance, name string) (*sqs.CreateQueueOutput, string, string) {
	t.Helper()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "events.log")
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("process"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: "conveyor.command", Handler: aws.String("./process.sh"),
		Code:        &lambdatypes.FunctionCode{ZipFile: lambdatest.ScriptZip(t, "process.sh", "#!/bin/sh\ncat >> \"$OUT\"\necho >> \"$OUT\"\n")},
		Environment: &lambdatypes.Environment{Variables: map[string]string{"OUT": out}}}); err != nil {
		t.Fatal(err)
	}
	return q, attrs.Attributes["QueueArn"], out
}

// queueCounts is a queue's messages visible and in flight, "visible/in flight".
func queueCounts(t *testing.T, in *servertest.Instance, url *string) string {
	t.Helper()
	a, err := in.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Attributes["ApproximateNumberOfMessages"] + "/" + a.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// A queue feeds a function through an event source mapping: messages arrive in SQS's event
// shape and leave the queue once processed; while the mapping is disabled they wait in the
// queue, and are processed once it is enabled again.
func TestEventSourceMapping(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	q, queueARN, out := processingQueue(t, in, "orders")
	m, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process"), BatchSize: aws.Int32(5)})
	if err != nil || aws.ToString(m.State) != "Creating" || aws.ToString(m.UUID) == "" {
		t.Fatalf("CreateEventSourceMapping: %+v %v", m, err)
	}
	// A second mapping of the queue to the function is refused, as Lambda refuses it.
	_, err = in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process")})
	var conflict *lambdatypes.ResourceConflictException
	if !errors.As(err, &conflict) || aws.ToString(conflict.Message) != `The event source arn (" `+queueARN+` ") and function (" process ") provided mapping already exists. `+
		"Please update or delete the existing mapping with UUID "+aws.ToString(m.UUID) {
		t.Errorf("a second mapping: %v", err)
	}
	send := func(body string) {
		t.Helper()
		if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("order")}}}); err != nil {
			t.Fatal(err)
		}
	}
	processed := func(want string) bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), want)
	}
	send("first order")
	waitfor.True(t, "the first order", func() bool { return processed(`"body":"first order"`) })
	b, _ := os.ReadFile(out)
	for _, want := range []string{`"eventSource":"aws:sqs"`, `"eventSourceARN":"` + queueARN + `"`, `"awsRegion":"us-east-1"`,
		`"messageAttributes":{"kind":{"stringValue":"order"`, `"receiptHandle":"`, `"md5OfBody":"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the event lacks %s: %s", want, b)
		}
	}
	visible := func() string { return queueCounts(t, in, q.QueueUrl) }
	waitfor.True(t, "the processed message to leave the queue", func() bool { return visible() == "0/0" })

	upd, err := in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)})
	if err != nil || aws.ToString(upd.State) != "Disabling" {
		t.Fatalf("disable: %+v %v", upd, err)
	}
	got, err := in.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(got.State) != "Disabled" {
		t.Fatalf("after disabling: %+v %v", got, err)
	}
	time.Sleep(500 * time.Millisecond) // the pollers stop within their polling interval
	send("while disabled")
	time.Sleep(1500 * time.Millisecond) // a disabled mapping must not take it
	if processed("while disabled") || visible() != "1/0" {
		t.Fatalf("a disabled mapping processed a message (queue %s)", visible())
	}
	if _, err := in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the message sent while disabled", func() bool { return processed(`"body":"while disabled"`) })

	list, err := in.Lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("process")})
	if err != nil || len(list.EventSourceMappings) != 1 {
		t.Errorf("list: %+v %v", list, err)
	}
	if _, err := in.Lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID}); err == nil {
		t.Error("a deleted mapping is still there")
	}
}

// The seed's case, end to end: "run some custom logic whenever our SQS-Lambda integration is
// disabled". A queue feeds process through an event source mapping; a rule on the default bus
// matches the CloudTrail event of UpdateEventSourceMapping with enabled false, and its target
// is a second function, alert. Disabling the mapping runs alert with the CloudTrail event;
// messages sent meanwhile stay in the queue, and are processed once the mapping is enabled.
func TestSeedCase(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	processed, alerts := filepath.Join(dir, "processed.log"), filepath.Join(dir, "alerts.log")
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := "arn:aws:sqs:us-east-1:000000000000:orders"
	for name, out := range map[string]string{"process": processed, "alert": alerts} {
		if _, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name),
			Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: "conveyor.command", Handler: aws.String("./run.sh"),
			Code:        &lambdatypes.FunctionCode{ZipFile: lambdatest.ScriptZip(t, "run.sh", "#!/bin/sh\ncat >> \"$OUT\"\necho >> \"$OUT\"\n")},
			Environment: &lambdatypes.Environment{Variables: map[string]string{"OUT": out}}}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process")})
	if err != nil {
		t.Fatal(err)
	}
	putRule(t, in.Events, "", "mapping-disabled", `{"source":["aws.lambda"],"detail-type":["AWS API Call via CloudTrail"],`+
		`"detail":{"eventName":[{"prefix":"UpdateEventSourceMapping"}],"requestParameters":{"enabled":[false]}}}`,
		eventbridgetypes.Target{Id: aws.String("alert"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:alert")})
	has := func(file, want string) bool {
		b, _ := os.ReadFile(file)
		return strings.Contains(string(b), want)
	}
	send := func(body string) {
		if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	send("order 1")
	waitfor.True(t, "order 1 processed", func() bool { return has(processed, `"body":"order 1"`) })

	if _, err := in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the alert", func() bool { return has(alerts, `"eventName":"UpdateEventSourceMapping20150331"`) })
	b, _ := os.ReadFile(alerts)
	if !strings.Contains(string(b), `"source":"aws.lambda"`) || !strings.Contains(string(b), `"enabled":false`) {
		t.Errorf("alert got %s", b)
	}
	time.Sleep(500 * time.Millisecond) // the mapping's pollers have stopped
	send("order 2")
	time.Sleep(1500 * time.Millisecond) // and do not take it
	if has(processed, "order 2") {
		t.Fatal("a disabled mapping processed a message")
	}
	if _, err := in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "order 2 processed", func() bool { return has(processed, `"body":"order 2"`) })
	if n := strings.Count(func() string { b, _ := os.ReadFile(alerts); return string(b) }(), "UpdateEventSourceMapping20150331"); n != 1 {
		t.Errorf("alert ran %d times, want once (enabling is not an alert)", n)
	}
}

// A mapping's filters hand the function only the messages whose record matches one of
// them (the body as JSON when it is JSON, as a string otherwise); the others leave the
// queue unseen, as Lambda deletes them.
func TestMappingFilters(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	q, queueARN, out := processingQueue(t, in, "jobs")
	_, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process"), FilterCriteria: &lambdatypes.FilterCriteria{Filters: []lambdatypes.Filter{{Pattern: aws.String(`{"body":`)}}}})
	var bad *lambdatypes.InvalidParameterValueException
	if !errors.As(err, &bad) || aws.ToString(bad.Message) != "Invalid filter pattern definition." {
		t.Errorf("a pattern that is none: %v", err)
	}
	m, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process"), FilterCriteria: &lambdatypes.FilterCriteria{Filters: []lambdatypes.Filter{
			{Pattern: aws.String(`{"body":{"kind":["keep"]}}`)}, {Pattern: aws.String(`{"body":["plain keep"]}`)}}}})
	if err != nil || m.FilterCriteria == nil || len(m.FilterCriteria.Filters) != 2 {
		t.Fatalf("CreateEventSourceMapping: %+v %v", m, err)
	}
	for _, body := range []string{`{"kind":"drop","n":1}`, `{"kind":"keep","n":2}`, "plain drop", "plain keep"} {
		if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	left := func() string { return queueCounts(t, in, q.QueueUrl) }
	processed := func(want string) bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), want)
	}
	waitfor.True(t, "the kept messages processed and every message gone", func() bool {
		return processed(`\"n\":2`) && processed(`"body":"plain keep"`) && left() == "0/0"
	})
	if processed(`\"n\":1`) || processed("plain drop") {
		b, _ := os.ReadFile(out)
		t.Errorf("the function saw a message its filters drop: %s", b)
	}
	got, err := in.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || got.FilterCriteria == nil || aws.ToString(got.FilterCriteria.Filters[0].Pattern) != `{"body":{"kind":["keep"]}}` {
		t.Errorf("GetEventSourceMapping: %+v %v", got, err)
	}
	// New filters apply from the update on.
	if _, err := in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID,
		FilterCriteria: &lambdatypes.FilterCriteria{Filters: []lambdatypes.Filter{{Pattern: aws.String(`{"body":["second round"]}`)}}}}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the new filters applied", func() bool {
		if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("second round")}); err != nil {
			t.Fatal(err)
		}
		return processed(`"body":"second round"`)
	})
}

// A batching window past SQS's longest poll (20 s) is a window, not a poll's wait: a mapping
// with one of 30 s takes its messages (a batch is full at its BatchSize, so at once here).
func TestMappingLongWindow(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	q, queueARN, out := processingQueue(t, in, "slowly")
	if _, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process"), BatchSize: aws.Int32(1), MaximumBatchingWindowInSeconds: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("in a long window")}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the message processed and gone", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `"body":"in a long window"`) && queueCounts(t, in, q.QueueUrl) == "0/0"
	})
}

// Settings Lambda refuses are refused with its messages: a batch over 10 without a window,
// any window on a FIFO queue, a batch over 10 on one, and a queue whose visibility
// timeout is shorter than the function's timeout.
func TestMappingBatchingRefused(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	_, queueARN, _ := processingQueue(t, in, "plain")
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ordered.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"}}); err != nil {
		t.Fatal(err)
	}
	fifoARN := "arn:aws:sqs:us-east-1:000000000000:ordered.fifo"
	noWindow := "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
	fifoWindow := "Batching window is not supported for FIFO queues"
	for _, c := range []struct {
		queue        string
		size, window int32
		refused      string
	}{
		{queueARN, 20, 0, noWindow},
		{fifoARN, 20, 0, "Maximum batch size must be between 1 and 10 inclusive"},
		{fifoARN, 10, 5, fifoWindow},
		{fifoARN, 100, 5, fifoWindow},
	} {
		_, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(c.queue),
			FunctionName: aws.String("process"), BatchSize: aws.Int32(c.size), MaximumBatchingWindowInSeconds: aws.Int32(c.window)})
		var bad *lambdatypes.InvalidParameterValueException
		if !errors.As(err, &bad) || aws.ToString(bad.Message) != c.refused {
			t.Errorf("%s, batches of %d, window %d: %v", c.queue, c.size, c.window, err)
		}
	}
	m, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(fifoARN),
		FunctionName: aws.String("process"), BatchSize: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, MaximumBatchingWindowInSeconds: aws.Int32(1)})
	var bad *lambdatypes.InvalidParameterValueException
	if !errors.As(err, &bad) || aws.ToString(bad.Message) != fifoWindow {
		t.Errorf("a window added to a FIFO queue's mapping: %v", err)
	}
	if _, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(queueARN),
		FunctionName: aws.String("process"), BatchSize: aws.Int32(20), MaximumBatchingWindowInSeconds: aws.Int32(1)}); err != nil {
		t.Errorf("batches of 20 in a window of 1 s: %v", err)
	}
	// A queue whose messages would come back while the function still works on them.
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("hasty"),
		Attributes: map[string]string{"VisibilityTimeout": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("process"),
		Timeout: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	_, err = in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:hasty"),
		FunctionName: aws.String("process")})
	if !errors.As(err, &bad) || aws.ToString(bad.Message) != "Queue visibility timeout: 2 seconds is less than Function timeout: 3 seconds" {
		t.Errorf("a visibility timeout shorter than the function's: %v", err)
	}
}
