package sqs_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// twoNodes starts two Conveyors on one external NATS server.
func twoNodes(t *testing.T) (a, b *servertest.Instance) {
	t.Helper()
	url := storetest.StartNATS(t, "").ClientURL()
	key := servertest.SecretsKey(t)
	ext := func(c *server.Config) { c.NATSURL, c.SecretsKeyFile = url, key }
	return servertest.Start(t, ext), servertest.Start(t, ext)
}

// sharedURL creates a queue through a and waits until b knows it.
func sharedURL(t *testing.T, a, b *servertest.Instance, name string, attrs map[string]string) string {
	t.Helper()
	url := createQueue(t, a.SQS, name, attrs)
	waitfor.Within(t, time.Second, "the queue to reach the second node", func() bool {
		_, err := b.SQS.GetQueueUrl(ctxT(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		return err == nil
	})
	return url
}

// A queue is served by both nodes: what one receives the other does not
// hand out, a handle from one works on the other, receive counts and
// deletes are shared, and a long poll on one wakes for a send on the other.
func TestQueueOnTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := ctxT(t)
	url := sharedURL(t, a, b, "shared", map[string]string{"VisibilityTimeout": "60"})

	// A long poll on b wakes when a message is sent through a.
	polled := make(chan []types.Message, 1)
	go func() {
		out, err := b.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Error(err)
		}
		polled <- out.Messages
	}()
	time.Sleep(300 * time.Millisecond) // the poll waits (were it not, it would still get the message)
	start := time.Now()
	sent := send(t, a.SQS, url, "one")
	got := <-polled
	if len(got) != 1 || aws.ToString(got[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("long poll on b got %+v", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("long poll on b woke after %v", d)
	}
	// Received through b: in flight as a counts it, and invisible on a.
	waitfor.Within(t, time.Second, "a to count the message in flight", func() bool { return counts(t, a.SQS, url) == "0/1/0" })
	if ms := receive(t, a.SQS, url, nil); len(ms) != 0 {
		t.Fatalf("a handed out a message b received: %+v", ms)
	}
	// b's handle makes it visible again through a.
	if _, err := a.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
		ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility through a with b's handle: %v", err)
	}
	var again []types.Message
	waitfor.Within(t, time.Second, "a to receive the message again", func() bool {
		again = receive(t, a.SQS, url, &sqs.ReceiveMessageInput{MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		return len(again) == 1
	})
	if n := again[0].Attributes["ApproximateReceiveCount"]; n != "2" {
		t.Errorf("ApproximateReceiveCount = %s, want 2", n)
	}
	// An older handle from b no longer changes the visibility.
	_, err := b.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
		ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0})
	if errCode(err) != "AWS.SimpleQueueService.MessageNotInflight" {
		t.Errorf("stale handle through b: %v", err)
	}
	// Deleted through b with a's handle: gone on both.
	if _, err := b.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: again[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*servertest.Instance{a, b} {
		waitfor.Within(t, time.Second, "the counts to show the delete", func() bool { return counts(t, n.SQS, url) == "0/0/0" })
	}
}

// Receivers on both nodes at once never get the same message while it is
// in flight: every message is received exactly once.
func TestNoMessageReceivedTwiceAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := ctxT(t)
	url := sharedURL(t, a, b, "race", map[string]string{"VisibilityTimeout": "120"})
	const total = 300
	for i := 0; i < total; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < i+10; j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(strconv.Itoa(j))})
		}
		if _, err := a.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for r := range 8 {
		c := a.SQS
		if r%2 == 1 {
			c = b.SQS
		}
		wg.Go(func() {
			for empty := 0; empty < 3; {
				out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					t.Error(err)
					return
				}
				if len(out.Messages) == 0 {
					empty++
					continue
				}
				mu.Lock()
				for _, m := range out.Messages {
					seen[aws.ToString(m.Body)]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("received %d distinct messages, want %d", len(seen), total)
	}
	for body, n := range seen {
		if n != 1 {
			t.Errorf("message %s received %d times", body, n)
		}
	}
	if c := counts(t, b.SQS, url); c != fmt.Sprintf("0/%d/0", total) {
		t.Errorf("counts on b: %s", c)
	}
}

// The receive count is the queue's, not a node's: a message received
// through a and then through b moves to the dead-letter queue on the
// receive past maxReceiveCount, whichever node serves it.
func TestRedriveCountsAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := ctxT(t)
	dlq := sharedURL(t, a, b, "dead", nil)
	dlqARN := queueAttrs(t, a.SQS, dlq, types.QueueAttributeNameQueueArn)["QueueArn"]
	url := sharedURL(t, a, b, "work", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"2"}`})
	send(t, a.SQS, url, "poison")
	for i, n := range []*servertest.Instance{a, b} {
		var ms []types.Message
		waitfor.Within(t, time.Second, "a receive", func() bool {
			ms = receive(t, n.SQS, url, nil)
			return len(ms) == 1
		})
		if i == 0 {
			// b must see this receive before it can hand the message out again.
			_, err := a.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: ms[0].ReceiptHandle})
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := b.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: ms[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	// The third receive, through a, moves it.
	waitfor.Within(t, 2*time.Second, "the message to reach the dead-letter queue", func() bool {
		if ms := receive(t, a.SQS, url, nil); len(ms) != 0 {
			t.Fatalf("received a third time: %+v", ms)
		}
		return counts(t, b.SQS, dlq) == "1/0/0"
	})
	// b hears of the move through the source queue's states, apart from the
	// dead-letter queue's stream: it may come a moment later.
	waitfor.Within(t, 2*time.Second, "the source queue empty on b", func() bool { return counts(t, b.SQS, url) == "0/0/0" })
}

// A FIFO group is in order across nodes: while a holds a group's message,
// b gets none of the group; once a deletes it, b's waiting receive gets the
// next.
func TestFifoGroupAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := ctxT(t)
	url := sharedURL(t, a, b, "orders.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for i := range 3 {
		if _, err := a.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(strconv.Itoa(i)),
			MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	first := receive(t, a.SQS, url, nil)
	if len(first) != 1 || aws.ToString(first[0].Body) != "0" {
		t.Fatalf("a received %+v", first)
	}
	polled := make(chan []types.Message, 1)
	go func() {
		out, err := b.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10, MaxNumberOfMessages: 10})
		if err != nil {
			t.Error(err)
		}
		polled <- out.Messages
	}()
	select {
	case ms := <-polled:
		t.Fatalf("b received %+v while a holds the group", ms)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := a.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	ms := <-polled
	if len(ms) != 2 || aws.ToString(ms[0].Body) != "1" || aws.ToString(ms[1].Body) != "2" {
		t.Errorf("b received %+v, want 1 then 2", ms)
	}
}

// Queue changes reach the other node: attributes, a purge (and its
// 60-second rule), and the queue's deletion.
func TestQueueChangesAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := ctxT(t)
	url := sharedURL(t, a, b, "changes", nil)
	if _, err := a.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url,
		Attributes: map[string]string{"VisibilityTimeout": "77"}}); err != nil {
		t.Fatal(err)
	}
	waitfor.Within(t, time.Second, "b to see the new attribute", func() bool {
		return queueAttrs(t, b.SQS, url, types.QueueAttributeNameVisibilityTimeout)["VisibilityTimeout"] == "77"
	})
	for i := range 5 {
		send(t, a.SQS, url, strconv.Itoa(i))
	}
	waitfor.Within(t, time.Second, "b to count the messages", func() bool { return counts(t, b.SQS, url) == "5/0/0" })
	if _, err := a.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	waitfor.Within(t, time.Second, "b to see the purge", func() bool { return counts(t, b.SQS, url) == "0/0/0" })
	if ms := receive(t, b.SQS, url, nil); len(ms) != 0 {
		t.Errorf("b received a purged message: %+v", ms)
	}
	if _, err := b.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); errCode(err) != "AWS.SimpleQueueService.PurgeQueueInProgress" {
		t.Errorf("second purge through b: %v", err)
	}
	send(t, b.SQS, url, "after")
	if ms := receive(t, a.SQS, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5}); len(ms) != 1 || aws.ToString(ms[0].Body) != "after" {
		t.Errorf("a received %+v after the purge", ms)
	}
	if _, err := b.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	waitfor.Within(t, time.Second, "a to forget the queue", func() bool {
		_, err := a.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("changes")})
		return errCode(err) == "AWS.SimpleQueueService.NonExistentQueue"
	})
	// Created again through a: b serves the new queue.
	url = sharedURL(t, a, b, "changes", nil)
	send(t, a.SQS, url, "new")
	if ms := receive(t, b.SQS, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5}); len(ms) != 1 || aws.ToString(ms[0].Body) != "new" {
		t.Errorf("b received %+v from the queue created again", ms)
	}
}
