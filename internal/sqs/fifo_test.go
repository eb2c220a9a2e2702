package sqs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// sendFifo sends body to a FIFO queue in group with deduplication id dedup ("" for none).
func sendFifo(t *testing.T, c *sqs.Client, url, group, dedup, body string) *sqs.SendMessageOutput {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body, MessageGroupId: &group}
	if dedup != "" {
		in.MessageDeduplicationId = &dedup
	}
	out, err := c.SendMessage(ctxT(t), in)
	if err != nil {
		t.Fatalf("SendMessage %s: %v", body, err)
	}
	return out
}

func bodies(msgs []types.Message) string {
	var b []string
	for _, m := range msgs {
		b = append(b, aws.ToString(m.Body))
	}
	return strings.Join(b, ",")
}

// TestFifoQueueAttributes: a FIFO queue shows its FIFO attributes with SQS's defaults, takes
// the FIFO ones, and refuses what SQS refuses.
func TestFifoQueueAttributes(t *testing.T) {
	in := servertest.Start(t)
	c := in.SQS
	ctx := ctxT(t)
	url := createQueue(t, c, "jobs.fifo", map[string]string{"FifoQueue": "true"})
	a := queueAttrs(t, c, url)
	for k, v := range map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "false", "DeduplicationScope": "queue",
		"FifoThroughputLimit": "perQueue", "SqsManagedSseEnabled": "true", "MaximumMessageSize": "1048576"} {
		if a[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, a[k], v)
		}
	}
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{
		"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId", "ContentBasedDeduplication": "true"}}); err != nil {
		t.Fatal(err)
	}
	a = queueAttrs(t, c, url)
	if a["DeduplicationScope"] != "messageGroup" || a["FifoThroughputLimit"] != "perMessageGroupId" || a["ContentBasedDeduplication"] != "true" {
		t.Errorf("after SetQueueAttributes: %v", a)
	}
	std := createQueue(t, c, "std", nil)
	if a := queueAttrs(t, c, std); a["FifoQueue"] != "" || a["DeduplicationScope"] != "" {
		t.Errorf("a standard queue shows FIFO attributes: %v", a)
	}
	// A queue encrypted with a KMS key is not encrypted with SQS's.
	kms := createQueue(t, c, "kms", map[string]string{"KmsMasterKeyId": "alias/aws/sqs"})
	if a := queueAttrs(t, c, kms); a["SqsManagedSseEnabled"] != "false" {
		t.Errorf("SqsManagedSseEnabled of a KMS queue = %q", a["SqsManagedSseEnabled"])
	}

	for _, tc := range []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"per group throughput needs per group deduplication", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("x.fifo"), Attributes: map[string]string{
				"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}})
			return err
		}, "InvalidParameterValue", "The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup."},
		{"deduplication scope value", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"DeduplicationScope": "group"}})
			return err
		}, "InvalidAttributeValue", "Invalid value for the parameter DeduplicationScope."},
		{"FifoQueue cannot change", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"FifoQueue": "false"}})
			return err
		}, "InvalidAttributeValue", "Invalid value for the parameter FifoQueue."},
		{"a standard dead-letter queue", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{
				"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:std","maxReceiveCount":1}`}})
			return err
		}, "InvalidParameterValue", `Value {"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:std","maxReceiveCount":1} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.`},
		{"no group", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")})
			return err
		}, "MissingParameter", "The request must contain the parameter MessageGroupId."},
		{"a delay of its own", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5})
			return err
		}, "InvalidParameterValue", "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."},
		{"deduplication id not valid", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("a b")})
			return err
		}, "InvalidParameterValue", "Value a b for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length."},
	} {
		err := tc.call()
		if got := errCode(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
			continue
		}
		if errMessage(err) != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, errMessage(err), tc.msg)
		}
	}
	// Without content-based deduplication a deduplication id is required.
	plain := createQueue(t, c, "plain.fifo", map[string]string{"FifoQueue": "true"})
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &plain, MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	if errCode(err) != "InvalidParameterValue" || errMessage(err) != "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly" {
		t.Errorf("no deduplication id: %v", err)
	}
	if got := counts(t, c, url); got != "0/0/0" {
		t.Errorf("messages after refused sends: %s", got)
	}
}

// TestFifoOrder: a group's messages come in the order they were sent, and none of a group
// while one of it is in flight; other groups go on meanwhile.
func TestFifoOrder(t *testing.T) {
	in := servertest.Start(t)
	c := in.SQS
	ctx := ctxT(t)
	url := createQueue(t, c, "orders.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	first := sendFifo(t, c, url, "a", "", "a1")
	sendFifo(t, c, url, "a", "", "a2")
	sendFifo(t, c, url, "b", "", "b1")
	sendFifo(t, c, url, "a", "", "a3")
	if aws.ToString(first.SequenceNumber) == "" {
		t.Errorf("SendMessage answered no SequenceNumber: %+v", first)
	}

	got := receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 1, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if bodies(got) != "a1" {
		t.Fatalf("first receive: %s", bodies(got))
	}
	at := got[0].Attributes
	if at["MessageGroupId"] != "a" || at["SequenceNumber"] != aws.ToString(first.SequenceNumber) || len(at["MessageDeduplicationId"]) != 64 {
		t.Errorf("attributes of a1: %v", at)
	}
	// Group a is in flight: only b comes.
	if got := receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10}); bodies(got) != "b1" {
		t.Fatalf("second receive: %s, want b1", bodies(got))
	}
	// a1 back (visible at once): it comes again before a2, then a2 and a3 together.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again := receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 1})
	if bodies(again) != "a1" {
		t.Fatalf("after a1 was made visible: %s", bodies(again))
	}
	// A waiting receive wakes when a1 is deleted, and gets the rest of group a.
	done := make(chan []types.Message, 1)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		done <- out.Messages
	}()
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: again[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	select {
	case msgs := <-done:
		if bodies(msgs) != "a2,a3" {
			t.Errorf("after a1 was deleted: %s, want a2,a3", bodies(msgs))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a receive waiting on group a did not wake when a1 was deleted")
	}
}

// TestFifoDeduplication: a message whose deduplication id was sent within five minutes is
// accepted and not stored again; per message group with DeduplicationScope messageGroup.
func TestFifoDeduplication(t *testing.T) {
	in := servertest.Start(t)
	c := in.SQS
	url := createQueue(t, c, "once.fifo", map[string]string{"FifoQueue": "true"})
	one := sendFifo(t, c, url, "g", "d1", "first")
	two := sendFifo(t, c, url, "g", "d1", "second")
	if aws.ToString(one.MessageId) != aws.ToString(two.MessageId) {
		t.Errorf("a duplicate got another message id: %s, %s", aws.ToString(one.MessageId), aws.ToString(two.MessageId))
	}
	sendFifo(t, c, url, "h", "d1", "other group, same id")
	if got := counts(t, c, url); got != "1/0/0" {
		t.Errorf("with DeduplicationScope queue: %s messages, want 1", got)
	}
	// Content-based: the body's SHA-256.
	cbd := createQueue(t, c, "content.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendFifo(t, c, cbd, "g", "", "same")
	sendFifo(t, c, cbd, "g", "", "same")
	sendFifo(t, c, cbd, "g", "", "other")
	if got := counts(t, c, cbd); got != "2/0/0" {
		t.Errorf("content-based deduplication: %s", got)
	}
	// Per group.
	grp := createQueue(t, c, "group.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup"})
	sendFifo(t, c, grp, "g", "d", "x")
	sendFifo(t, c, grp, "h", "d", "x")
	sendFifo(t, c, grp, "h", "d", "x")
	if got := counts(t, c, grp); got != "2/0/0" {
		t.Errorf("DeduplicationScope messageGroup: %s", got)
	}
	// A batch, with its sequence numbers.
	out, err := c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("b1"), MessageGroupId: aws.String("b"), MessageDeduplicationId: aws.String("b1")},
		{Id: aws.String("b"), MessageBody: aws.String("b2"), MessageGroupId: aws.String("b")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 1 || aws.ToString(out.Successful[0].SequenceNumber) == "" || len(out.Failed) != 1 ||
		aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" {
		t.Errorf("batch: %+v %+v", out.Successful, out.Failed)
	}
}

// TestFifoDeadLetters: a FIFO queue's messages past maxReceiveCount move to its FIFO
// dead-letter queue with their group.
func TestFifoDeadLetters(t *testing.T) {
	in := servertest.Start(t)
	c := in.SQS
	dlq := createQueue(t, c, "failed.fifo", map[string]string{"FifoQueue": "true"})
	url := createQueue(t, c, "work.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:failed.fifo","maxReceiveCount":1}`})
	sendFifo(t, c, url, "g", "", "poison")
	first := receive(t, c, url, nil)
	if bodies(first) != "poison" {
		t.Fatalf("first receive: %s", bodies(first))
	}
	if _, err := c.ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c, url, nil); len(got) != 0 {
		t.Fatalf("a message past maxReceiveCount was received: %s", bodies(got))
	}
	got := receive(t, c, dlq, &sqs.ReceiveMessageInput{MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if bodies(got) != "poison" || got[0].Attributes["MessageGroupId"] != "g" ||
		got[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:work.fifo" {
		t.Errorf("dead letter: %s %v", bodies(got), got)
	}
}

// TestFifoQueueTarget: a rule delivers to a FIFO queue in the target's message group,
// deduplicated by event id; a FIFO target without a group is refused as
// EventBridge refuses it.
func TestFifoQueueTarget(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	url := createQueue(t, in.SQS, "events.fifo", map[string]string{"FifoQueue": "true"})
	arn := "arn:aws:sqs:us-east-1:000000000000:events.fifo"
	_, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("missing"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(arn)}}})
	if errCode(err) != "ValidationException" || errMessage(err) != "Parameter(s) SqsParameters must be specified for target: q." {
		t.Errorf("a FIFO target without SqsParameters: %v", err)
	}
	putRule(t, in.Events, "to-fifo", ebtypes.Target{Id: aws.String("q"), Arn: aws.String(arn), InputPath: aws.String("$.detail"),
		SqsParameters: &ebtypes.SqsParameters{MessageGroupId: aws.String("orders")}})
	for i := range 5 {
		putEvent(t, in.Events, fmt.Sprintf(`{"n":%d}`, i))
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < 5 && time.Now().Before(deadline); {
		msgs := receive(t, in.SQS, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"MessageGroupId"}})
		for _, m := range msgs {
			if m.Attributes["MessageGroupId"] != "orders" {
				t.Errorf("message group %q", m.Attributes["MessageGroupId"])
			}
			got = append(got, aws.ToString(m.Body))
			if _, err := in.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// EventBridge promises no order between events; the queue keeps the order they reach it in.
	slices.Sort(got)
	if want := `{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}`; strings.Join(got, ",") != want {
		t.Errorf("the queue got %s, want %s", strings.Join(got, ","), want)
	}
}
