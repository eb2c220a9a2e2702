package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Receiving and deleting messages, purging and deleting queues leave
// nothing behind in the bucket: no delete marker per message received (there
// were 310,943 after all queues were deleted), only a marker per deleted
// queue name.
func TestNoMarkersLeft(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, c := bareService(t, st)

	const queues, messages = 3, 40
	for i := range queues {
		q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("q%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		for range messages {
			if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
				t.Fatal(err)
			}
		}
		for received := 0; received < messages; {
			out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			var entries []types.DeleteMessageBatchRequestEntry
			for j, m := range out.Messages {
				// Half are deleted one by one, half are left for PurgeQueue.
				if i%2 == 0 {
					entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), ReceiptHandle: m.ReceiptHandle})
				}
			}
			if len(entries) > 0 {
				if _, err := c.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries}); err != nil {
					t.Fatal(err)
				}
			}
			received += len(out.Messages)
		}
		if i%2 == 1 {
			if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: q.QueueUrl}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: q.QueueUrl}); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := st.JetStream().Stream(ctx, "KV_"+sqs.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := kv.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The receipt-handle secret, and a purge marker per deleted queue.
	if info.State.Msgs > 1+queues {
		t.Errorf("the bucket holds %d messages after %d queues of %d messages were deleted", info.State.Msgs, queues, messages)
	}
}

// bareService is an SQS service on st alone (no catalog, no deliveries),
// served on loopback, and an SDK client for it.
func bareService(t *testing.T, st *store.Store, configure ...func(*sqs.Service)) (*sqs.Service, *awssqs.Client) {
	t.Helper()
	return bareServiceConfig(t, sqs.Config{Store: st}, configure...)
}

// bareServiceConfig is bareService with cfg (its region, account and
// logger set here).
func bareServiceConfig(t *testing.T, cfg sqs.Config, configure ...func(*sqs.Service)) (*sqs.Service, *awssqs.Client) {
	t.Helper()
	cfg.Region, cfg.Account, cfg.Logger = "us-east-1", "000000000000", quiet
	svc, err := sqs.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	for _, f := range configure {
		f(svc)
	}
	api, conveyor := awsapi.NewSQS(), sqs.NewConveyorService()
	api.SetModel(awsapi.MustLoadModel("sqs"))
	svc.Register(api, conveyor)
	srv, err := awsapi.NewServer(awsapi.Config{Logger: quiet}, api, conveyor)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return svc, awssqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", "")})
}

// A backlog far larger than the index window keeps the index at the window
// (plus what is in flight); every message is still received, once each and
// in order, and the counts include the messages waiting in the stream.
func TestBacklogBeyondWindow(t *testing.T) {
	ctx := context.Background()
	const window, messages = 100, 2000
	svc, c := bareService(t, storetest.Open(t), func(s *sqs.Service) { s.SetWindow(window) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("backlog")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < messages; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := range 10 {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprint(i + j))})
		}
		out, err := c.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send: %v %+v", err, out)
		}
	}
	if n := svc.Indexed("backlog"); n > window {
		t.Errorf("%d messages indexed with a window of %d", n, window)
	}
	attrs, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != fmt.Sprint(messages) {
		t.Errorf("ApproximateNumberOfMessages %v, %v", attrs, err)
	}
	next := 0
	for next < messages {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("nothing received after %d of %d", next, messages)
		}
		var entries []types.DeleteMessageBatchRequestEntry
		for j, m := range out.Messages {
			if aws.ToString(m.Body) != fmt.Sprint(next) {
				t.Fatalf("received %s, want %d", aws.ToString(m.Body), next)
			}
			next++
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := c.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries}); err != nil {
			t.Fatal(err)
		}
		if n := svc.Indexed("backlog"); n > window+10 {
			t.Fatalf("%d messages indexed with a window of %d", n, window)
		}
	}
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Errorf("after all: %d more, %v", len(out.Messages), err)
	}
}

// /metrics has every queue's depth by state and the age of its oldest
// message.
func TestQueueMetrics(t *testing.T) {
	ctx := context.Background()
	svc, c := bareService(t, storetest.Open(t))
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("depth")})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	if got["conveyor_queue_messages depth visible"] != 2 || got["conveyor_queue_messages depth in_flight"] != 1 ||
		got["conveyor_queue_messages depth delayed"] != 0 || got["conveyor_queue_oldest_message_age_seconds depth"] < 0 {
		t.Errorf("metrics: %v", got)
	}
}

// A queue with its limit of messages in flight answers a receive with
// OverLimit, as SQS does past 120,000; deleting one makes room.
func TestInFlightLimit(t *testing.T) {
	ctx := context.Background()
	_, c := bareService(t, storetest.Open(t), func(s *sqs.Service) { s.SetInFlightLimit(5) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("busy")})
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 5})
	if err != nil || len(out.Messages) != 5 {
		t.Fatalf("first receive: %v, %d messages", err, len(out.Messages))
	}
	_, err = c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) || ae.ErrorCode() != "OverLimit" || !strings.Contains(err.Error(), "Too many messages have been received without being deleted.") {
		t.Fatalf("receive past the limit: %v", err)
	}
	if _, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl}); err != nil || len(out.Messages) != 1 {
		t.Fatalf("after a delete: %v, %+v", err, out)
	}
}

// A Lambda function's dead letter arrives in its queue with its string
// attributes (their MD5 as the SDK checks it); a FIFO queue or a queue that
// does not exist refuses it.
func TestSendDeadLetter(t *testing.T) {
	ctx := context.Background()
	svc, c := bareService(t, storetest.Open(t))
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("dead")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("dead.fifo"), Attributes: map[string]string{"FifoQueue": "true"}}); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:sqs:us-east-1:000000000000:dead"
	if err := svc.SendDeadLetter(ctx, arn, []byte(`{"order":7}`), map[string]string{"RequestID": "r-1", "ErrorCode": "200", "ErrorMessage": "boom"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{arn + ".fifo", "arn:aws:sqs:us-east-1:000000000000:nowhere"} {
		if err := svc.SendDeadLetter(ctx, bad, []byte(`{}`), nil); err == nil {
			t.Errorf("a dead letter sent to %s", bad)
		}
	}
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MessageAttributeNames: []string{"All"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %+v %v", out, err)
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != `{"order":7}` || aws.ToString(m.MessageAttributes["RequestID"].StringValue) != "r-1" ||
		aws.ToString(m.MessageAttributes["ErrorCode"].StringValue) != "200" || aws.ToString(m.MessageAttributes["ErrorMessage"].StringValue) != "boom" {
		t.Errorf("dead letter %+v", m)
	}
}
