package sqs_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

type peeked struct {
	Messages []struct {
		MessageId, Body, State string
		Attributes             map[string]string
		MessageAttributes      map[string]struct{ StringValue string }
	}
	NextToken *string
}

func peek(t *testing.T, in *servertest.Instance, input map[string]any) (int, peeked) {
	t.Helper()
	body, _ := json.Marshal(input)
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, in.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "ConveyorQueues.PeekMessages")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out peeked
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

// PeekMessages shows a queue's messages in order, with their attributes and state, page by
// page, and receives nothing: a receive afterwards still gets every visible message.
func TestPeekMessages(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("peeked")})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"one", "two", "three"} {
		if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("k-" + b)}}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1})
	if err != nil || len(r.Messages) != 1 || aws.ToString(r.Messages[0].Body) != "one" {
		t.Fatalf("receive: %+v %v", r, err)
	}
	status, page := peek(t, in, map[string]any{"QueueUrl": *q.QueueUrl, "MaxMessages": 2})
	if status != 200 || len(page.Messages) != 2 || page.NextToken == nil {
		t.Fatalf("first page: %d %+v", status, page)
	}
	first, second := page.Messages[0], page.Messages[1]
	if first.Body != "one" || first.State != "in flight" || first.Attributes["ApproximateReceiveCount"] != "1" ||
		first.MessageAttributes["kind"].StringValue != "k-one" || second.Body != "two" || second.State != "visible" {
		t.Errorf("first page: %+v", page.Messages)
	}
	_, page = peek(t, in, map[string]any{"QueueUrl": *q.QueueUrl, "MaxMessages": 2, "NextToken": *page.NextToken})
	if len(page.Messages) != 1 || page.Messages[0].Body != "three" || page.NextToken != nil {
		t.Errorf("second page: %+v", page)
	}
	// Peeking received nothing.
	r, err = in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil || len(r.Messages) != 2 || r.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("receive after peeking: %+v %v", r, err)
	}
	if status, _ := peek(t, in, map[string]any{"QueueUrl": *q.QueueUrl, "MaxMessages": 101}); status != 400 {
		t.Errorf("MaxMessages 101: %d", status)
	}
}
