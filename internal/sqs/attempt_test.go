package sqs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// A FIFO receive retried with the same ReceiveRequestAttemptId gets the same
// messages and receipt handles while none of them was modified; once one
// is (deleted here), the retry is a receive of its own.
func TestReceiveRequestAttemptId(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "attempts.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for _, body := range []string{"1", "2", "3"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(body), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	recv := func(id string) []types.Message {
		return receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 2, ReceiveRequestAttemptId: aws.String(id),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	}
	first := recv("a1")
	if len(first) != 2 || aws.ToString(first[0].Body) != "1" || aws.ToString(first[1].Body) != "2" {
		t.Fatalf("first receive: %+v", first)
	}
	again := recv("a1")
	if len(again) != 2 || aws.ToString(again[0].ReceiptHandle) != aws.ToString(first[0].ReceiptHandle) ||
		aws.ToString(again[1].ReceiptHandle) != aws.ToString(first[1].ReceiptHandle) ||
		again[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("retry with the same attempt id: %+v", again)
	}
	// Another attempt id is another receive: the group is in flight.
	if ms := recv("a2"); len(ms) != 0 {
		t.Fatalf("receive with another attempt id: %+v", ms)
	}
	// Modified: the retry is a receive of its own (and the group's next
	// message is still behind the one in flight).
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if ms := recv("a1"); len(ms) != 0 {
		t.Fatalf("retry after a delete: %+v", ms)
	}
	// A standard queue ignores the parameter.
	std := createQueue(t, c, "plain", nil)
	send(t, c, std, "x")
	if ms := receive(t, c, std, &sqs.ReceiveMessageInput{ReceiveRequestAttemptId: aws.String("a1")}); len(ms) != 1 {
		t.Fatalf("standard queue: %+v", ms)
	}
	if ms := receive(t, c, std, &sqs.ReceiveMessageInput{ReceiveRequestAttemptId: aws.String("a1")}); len(ms) != 0 {
		t.Fatalf("standard queue, same attempt id: %+v", ms)
	}
}
