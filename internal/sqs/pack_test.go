package sqs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// deliver delivers bodies to queue name in one Deliver call, as a rule's
// queue target does with the events that wait together.
func deliver(t *testing.T, svc *sqs.Service, name string, bodies ...int) {
	t.Helper()
	arn := sqs.QueueARN(scope.Scope{Account: "000000000000", Region: "us-east-1"}, name)
	jobs := make([]*delivery.Job, len(bodies))
	for i, b := range bodies {
		jobs[i] = &delivery.Job{TargetARN: arn, EventID: fmt.Sprint("event-", b), Payload: []byte(fmt.Sprint(b))}
	}
	errs := make([]error, len(jobs))
	svc.Deliver(context.Background(), jobs, errs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("deliver %d: %v", bodies[i], err)
		}
	}
}

func span(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// The events a target delivers together are one stream message, a pack;
// each is a message of its own to receive, delete and see again after a
// restart, and a pack leaves the stream once all of its messages are
// deleted, and not before.
func TestPackedDeliveries(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, c := bareService(t, st, func(s *sqs.Service) { s.SetReap(10*time.Millisecond, 100*time.Millisecond) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("packed")})
	if err != nil {
		t.Fatal(err)
	}
	stream := queueStream(t, st, "packed")
	deliver(t, svc, "packed", span(0, 9)...)
	deliver(t, svc, "packed", span(10, 19)...)
	deliver(t, svc, "packed", span(20, 24)...)
	deliver(t, svc, "packed", 25) // alone: nothing to pack it with
	if n := streamMsgs(t, stream); n != 4 {
		t.Fatalf("%d stream messages for three packs and one message alone", n)
	}
	// The SDK checks each MD5OfBody.
	got := receiveAll(t, c, q.QueueUrl, 26, 1)
	ids := map[string]bool{}
	for _, m := range got {
		if ids[*m.MessageId] {
			t.Fatalf("message ID %s twice", *m.MessageId)
		}
		ids[*m.MessageId] = true
	}
	// The second pack all deleted: it goes on its own, although the first
	// is still there. The third, partly deleted before it, stays.
	deleteBodies(t, c, q.QueueUrl, got, 20, 21, 22, 0, 1, 2, 3, 4)
	deleteBodies(t, c, q.QueueUrl, got, span(10, 19)...)
	waitfor.True(t, "the second pack gone", func() bool { return streamMsgs(t, stream) <= 3 })
	if n := streamMsgs(t, stream); n != 3 {
		t.Fatalf("%d stream messages once the second pack is gone, want 3", n)
	}
	svc.Close()

	// After a restart the deleted messages stay deleted; the others come
	// back (their visibility timeout is over), received once before.
	_, c2 := bareService(t, st, func(s *sqs.Service) { s.SetReap(10*time.Millisecond, 100*time.Millisecond) })
	want := append(span(5, 9), 23, 24, 25)
	again := map[string]types.Message{}
	for len(again) < len(want) {
		out, err := c2.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			VisibilityTimeout: 60, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("after the restart received %d of %d messages", len(again), len(want))
		}
		for _, m := range out.Messages {
			if _, dup := again[*m.Body]; dup {
				t.Fatalf("message %s received twice", *m.Body)
			}
			if n := m.Attributes["ApproximateReceiveCount"]; n != "2" {
				t.Errorf("message %s: ApproximateReceiveCount %s, want 2", *m.Body, n)
			}
			if *m.MessageId != *got[*m.Body].MessageId {
				t.Errorf("message %s: ID %s after the restart, %s before", *m.Body, *m.MessageId, *got[*m.Body].MessageId)
			}
			again[*m.Body] = m
		}
	}
	for _, b := range want {
		if _, ok := again[fmt.Sprint(b)]; !ok {
			t.Errorf("message %d not received after the restart", b)
		}
	}
	// An earlier receive's handle still deletes a message of a pack.
	deleteBodies(t, c2, q.QueueUrl, got, 5)
	deleteBodies(t, c2, q.QueueUrl, again, 6, 7, 8, 9, 23, 24, 25)
	waitfor.True(t, "the stream emptied", func() bool { return streamAll(t, stream) == 0 })
}

// A purge takes packs with the rest; a pack's message past its queue's
// maxReceiveCount moves to the dead-letter queue alone.
func TestPackPurgeAndDeadLetter(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, c := bareService(t, st)
	dlq, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("packs-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN := sqs.QueueARN(scope.Scope{Account: "000000000000", Region: "us-east-1"}, "packs-dlq")
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("packs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":1}`}})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, svc, "packs", 1, 2, 3)
	receiveAll(t, c, q.QueueUrl, 3, 1)
	// Received once each: once visible again, a receive moves them to the
	// dead-letter queue.
	waitfor.True(t, "the pack's messages in the dead-letter queue", func() bool {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil || len(out.Messages) != 0 {
			t.Fatalf("a receive past maxReceiveCount got %v (%v)", out.Messages, err)
		}
		attrs, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
		return err == nil && attrs.Attributes["ApproximateNumberOfMessages"] == "3"
	})
	moved := receiveAll(t, c, dlq.QueueUrl, 3, 60)
	for _, b := range []string{"1", "2", "3"} {
		if _, ok := moved[b]; !ok {
			t.Errorf("message %s not in the dead-letter queue", b)
		}
	}

	deliver(t, svc, "packs", 4, 5, 6)
	if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: q.QueueUrl}); err != nil {
		t.Fatal(err)
	}
	stream := queueStream(t, st, "packs")
	waitfor.True(t, "the purged pack gone", func() bool { return streamMsgs(t, stream) == 0 })
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("a receive after the purge got %v (%v)", out.Messages, err)
	}
}

// Events a rule delivers to a queue together are peeked in the order they
// were put, page by page, and received once each.
func TestPeekDeliveredEvents(t *testing.T) {
	in := servertest.Start(t, fast)
	url := createQueue(t, in.SQS, "peek-packs", nil)
	arn := queueAttrs(t, in.SQS, url)["QueueArn"]
	putRule(t, in.Events, "to-peek-packs", ebtypes.Target{Id: aws.String("q"), Arn: aws.String(arn), InputPath: aws.String("$.detail")})
	var entries []ebtypes.PutEventsRequestEntry
	for i := range 10 {
		entries = append(entries, ebtypes.PutEventsRequestEntry{Source: aws.String("app.orders"), DetailType: aws.String("Order Placed"),
			Detail: aws.String(fmt.Sprintf(`{"order":%d}`, i))})
	}
	if out, err := in.Events.PutEvents(ctxT(t), &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %v", out, err)
	}
	waitfor.True(t, "ten messages in the queue", func() bool {
		return queueAttrs(t, in.SQS, url)["ApproximateNumberOfMessages"] == "10"
	})
	var bodies []string
	input := map[string]any{"QueueUrl": url, "MaxMessages": 3}
	for page := 0; ; page++ {
		status, p := peek(t, in, input)
		if status != 200 || page > 4 {
			t.Fatalf("page %d: status %d", page, status)
		}
		for _, m := range p.Messages {
			bodies = append(bodies, m.Body)
		}
		if p.NextToken == nil {
			break
		}
		input["NextToken"] = *p.NextToken
	}
	// The router puts a call's events in order; a rule delivers them to
	// the queue in that order too.
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf(`{"order":%d}`, i))
	}
	if fmt.Sprint(bodies) != fmt.Sprint(want) {
		t.Errorf("peeked %q, want %q", bodies, want)
	}
	got := receiveAll(t, in.SQS, &url, 10, 60)
	if len(got) != 10 {
		t.Errorf("received %d messages", len(got))
	}
}

// A message of a pack deleted after a restart, before the index reaches
// its pack (its window full of messages ahead of it), is skipped when it
// does; the pack's other messages stay.
func TestPackDeletedBeforeIndexed(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, c := bareService(t, st)
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("late"), Attributes: map[string]string{"DelaySeconds": "900"}})
	if err != nil {
		t.Fatal(err)
	}
	// The first pack is delayed (the queue's delay when it is indexed),
	// and not received; the second is.
	deliver(t, svc, "late", span(0, 9)...)
	// Indexed before the delay goes: else, on a busy machine, the index may
	// read the first pack after the change and deliver it at once.
	waitfor.True(t, "the first pack indexed with its delay", func() bool { return svc.Indexed("late") == 10 })
	if _, err := c.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"DelaySeconds": "0"}}); err != nil {
		t.Fatal(err)
	}
	deliver(t, svc, "late", span(10, 19)...)
	got := receiveAll(t, c, q.QueueUrl, 10, 600)
	svc.Close()

	// A window of one: the index holds the first pack (visible now: the
	// queue has no delay any more), and the second waits behind it.
	svc2, c2 := bareServiceConfig(t, sqs.Config{Store: st, Window: 1}, func(s *sqs.Service) { s.SetReap(10*time.Millisecond, 100*time.Millisecond) })
	waitfor.True(t, "the first pack indexed", func() bool { return svc2.Indexed("late") == 10 })
	deleteBodies(t, c2, q.QueueUrl, got, 15)
	first := receiveAll(t, c2, q.QueueUrl, 10, 600)
	for b := range first {
		var i int
		fmt.Sscan(b, &i)
		if i >= 10 {
			t.Fatalf("message %d of the second pack, in flight, received again", i)
		}
	}
	deleteBodies(t, c2, q.QueueUrl, first, span(0, 9)...)
	// The second pack indexed now: nine in flight, the deleted one skipped.
	waitfor.True(t, "nine in flight", func() bool {
		return queueAttrs(t, c2, *q.QueueUrl)["ApproximateNumberOfMessagesNotVisible"] == "9"
	})
	deleteBodies(t, c2, q.QueueUrl, got, 10, 11, 12, 13, 14, 16, 17, 18, 19)
	stream := queueStream(t, st, "late")
	waitfor.True(t, "the stream emptied", func() bool { return streamAll(t, stream) == 0 })
}

// A backlog of packs past the index's window is counted by its messages,
// not its stream messages.
func TestPackBacklogCounted(t *testing.T) {
	st := storetest.Open(t)
	svc, c := bareServiceConfig(t, sqs.Config{Store: st, Window: 50})
	q, err := c.CreateQueue(context.Background(), &awssqs.CreateQueueInput{QueueName: aws.String("backlog-packs")})
	if err != nil {
		t.Fatal(err)
	}
	for p := range 30 {
		deliver(t, svc, "backlog-packs", span(p*10, p*10+9)...)
	}
	waitfor.True(t, "the window full", func() bool { return svc.Indexed("backlog-packs") == 50 })
	if n := queueAttrs(t, c, *q.QueueUrl)["ApproximateNumberOfMessages"]; n != "300" {
		t.Errorf("ApproximateNumberOfMessages %s, want 300", n)
	}
	got := receiveAll(t, c, q.QueueUrl, 300, 60)
	if len(got) != 300 {
		t.Errorf("received %d of 300", len(got))
	}
}
