package sqs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// queueStream returns the stream of queue name in the test account.
func queueStream(t *testing.T, st *store.Store, name string) jetstream.Stream {
	t.Helper()
	s, err := st.JetStream().Stream(context.Background(), store.QueueStream(sqs.QueueARN(scope.Scope{Account: "000000000000", Region: "us-east-1"}, name)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// streamMsgs counts the queue's messages in its stream (not its journal's
// records).
func streamMsgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	subj := s.CachedInfo().Config.Subjects[0]
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

// streamAll counts everything in the queue's stream: messages and journal
// records.
func streamAll(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// sendN sends n messages (bodies 0 … n-1) in batches of ten.
func sendN(t *testing.T, c *awssqs.Client, url *string, n int) {
	t.Helper()
	for i := 0; i < n; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < min(n, i+10); j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprint(j))})
		}
		if _, err := c.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: url, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
}

// receiveAll receives n messages (visibility timeout vt) and returns them
// by body.
func receiveAll(t *testing.T, c *awssqs.Client, url *string, n int, vt int32) map[string]types.Message {
	t.Helper()
	got := map[string]types.Message{}
	for len(got) < n {
		out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10,
			VisibilityTimeout: vt, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("received %d of %d messages", len(got), n)
		}
		for _, m := range out.Messages {
			if _, dup := got[*m.Body]; dup {
				t.Fatalf("message %s received twice", *m.Body)
			}
			got[*m.Body] = m
		}
	}
	return got
}

func deleteBodies(t *testing.T, c *awssqs.Client, url *string, got map[string]types.Message, bodies ...int) {
	t.Helper()
	for _, b := range bodies {
		m := got[fmt.Sprint(b)]
		if _, err := c.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
}

// Deleted messages leave the stream: those below the oldest message not
// deleted with a purge, the others on their own once they have waited.
func TestDeletedMessagesLeaveTheStream(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, c := bareService(t, st, func(s *sqs.Service) { s.SetReap(10*time.Millisecond, 300*time.Millisecond) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("reaped")})
	if err != nil {
		t.Fatal(err)
	}
	stream := queueStream(t, st, "reaped")
	sendN(t, c, q.QueueUrl, 30)
	got := receiveAll(t, c, q.QueueUrl, 30, 60)
	// 0 … 9 deleted: purged below 10, the oldest left.
	deleteBodies(t, c, q.QueueUrl, got, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	waitfor.True(t, "the purge of 0 … 9", func() bool { return streamMsgs(t, stream) == 20 })
	info, _ := stream.Info(ctx)
	if info.State.FirstSeq != 11 {
		t.Errorf("first sequence %d after the purge, want 11", info.State.FirstSeq)
	}
	// 11 … 29 deleted, 10 kept: the purge cannot pass 10, they go on
	// their own.
	var rest []int
	for i := 11; i < 30; i++ {
		rest = append(rest, i)
	}
	deleteBodies(t, c, q.QueueUrl, got, rest...)
	waitfor.True(t, "11 … 29 deleted on their own", func() bool { return streamMsgs(t, stream) == 1 })
	deleteBodies(t, c, q.QueueUrl, got, 10)
	waitfor.True(t, "the last purge", func() bool { return streamMsgs(t, stream) == 0 })
	// The journal's records go too, once no message needs them.
	waitfor.True(t, "the journal emptied", func() bool { return streamAll(t, stream) == 0 })
}

// Messages deleted just before a process stops, which its stream still
// holds, are never received again after a restart: their purge markers say
// they were deleted, and they leave the stream then.
func TestDeletedBeforeStopNotReceivedAgain(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, c := bareService(t, st, func(s *sqs.Service) { s.SetReap(time.Hour, time.Hour) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("restart")})
	if err != nil {
		t.Fatal(err)
	}
	stream := queueStream(t, st, "restart")
	sendN(t, c, q.QueueUrl, 20)
	got := receiveAll(t, c, q.QueueUrl, 20, 1)
	var deleted []int
	for i := range 20 {
		if i%4 != 1 {
			deleted = append(deleted, i)
		}
	}
	deleteBodies(t, c, q.QueueUrl, got, deleted...)
	svc.Close()
	if n := streamMsgs(t, stream); n != 20 {
		t.Fatalf("the stream holds %d messages at the stop, want 20 (the deletes not reaped yet)", n)
	}

	// The defaults: the messages its markers name are due at once.
	_, c2 := bareService(t, st)
	again := receiveAll(t, c2, q.QueueUrl, 5, 60)
	for body := range again {
		var i int
		fmt.Sscan(body, &i)
		if i%4 != 1 {
			t.Errorf("message %d, deleted before the stop, received again", i)
		}
	}
	out, err := c2.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("a receive after the five kept got %d messages (%v)", len(out.Messages), err)
	}
	waitfor.True(t, "the deleted messages gone after the restart", func() bool { return streamMsgs(t, stream) == 5 })
	attrs, err := c2.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if n := attrs.Attributes["ApproximateNumberOfMessagesNotVisible"]; n != "5" {
		t.Errorf("ApproximateNumberOfMessagesNotVisible %s, want 5", n)
	}
}

// Many receives waiting in long polls: each message sent wakes one of them,
// and every message is received, once, without waiting for a poll to end.
func TestManyWaitingReceives(t *testing.T) {
	ctx := context.Background()
	_, c := bareService(t, storetest.Open(t))
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("waiters")})
	if err != nil {
		t.Fatal(err)
	}
	const receivers, messages = 16, 40
	got := make(chan string, messages)
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range receivers {
		wg.Go(func() {
			for {
				out, err := c.ReceiveMessage(rctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20})
				if rctx.Err() != nil {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range out.Messages {
					got <- *m.Body
				}
			}
		})
	}
	start := time.Now()
	seen := map[string]bool{}
	for i := range messages {
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			if seen[b] {
				t.Fatalf("message %s received twice", b)
			}
			seen[b] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not received within 10 s (%d received)", i, len(seen))
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("%d messages one after the other took %v", messages, d)
	}
	stop()
	wg.Wait()
}

// A receive waiting in a long poll gets a message another receive took as
// soon as its visibility timeout ends, not when its own poll ends.
func TestWaitingReceiveGetsMessageVisibleAgain(t *testing.T) {
	ctx := context.Background()
	svc, c := bareService(t, storetest.Open(t))
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("again")})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 2)
	for range 2 {
		go func() {
			out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, VisibilityTimeout: 1, WaitTimeSeconds: 20})
			if err != nil || len(out.Messages) != 1 {
				t.Errorf("receive: %d messages, %v", len(out.Messages), err)
			}
			got <- time.Now()
		}()
	}
	waitfor.True(t, "two receives waiting", func() bool { return svc.Waiting("again") == 2 })
	sent := time.Now()
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	<-got // the first receive, which does not delete it
	select {
	case at := <-got:
		if d := at.Sub(sent); d < time.Second {
			t.Errorf("received again after %v, before its visibility timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting receive did not get the message within 10 s of its visibility timeout's end")
	}
}

// The receive that watches for a message in flight becoming visible hands
// that watch on when its own poll ends first: a receive still waiting gets
// the message when its visibility timeout ends.
func TestWatchHandedOn(t *testing.T) {
	ctx := context.Background()
	svc, c := bareService(t, storetest.Open(t))
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("handoff")})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		name string
		n    int
		at   time.Time
	}
	results := make(chan result, 3)
	// a takes the message (a long poll, the first waiting); c, next in line,
	// watches for it to be visible again but polls for a second only; d
	// must get it.
	for i, r := range []struct {
		name string
		wait int32
	}{{"a", 20}, {"c", 1}, {"d", 20}} {
		go func() {
			out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, VisibilityTimeout: 2, WaitTimeSeconds: r.wait})
			if err != nil {
				t.Error(err)
			}
			results <- result{r.name, len(out.Messages), time.Now()}
		}()
		waitfor.True(t, r.name+" waiting", func() bool { return svc.Waiting("handoff") == i+1 })
	}
	sent := time.Now()
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case r := <-results:
			switch {
			case r.name == "a" && r.n != 1, r.name == "c" && r.n != 0:
				t.Errorf("%s received %d messages", r.name, r.n)
			case r.name == "d" && (r.n != 1 || r.at.Sub(sent) > 10*time.Second):
				t.Errorf("d received %d messages after %v", r.n, r.at.Sub(sent))
			}
		case <-time.After(15 * time.Second):
			t.Fatal("a receive did not end within 15 s")
		}
	}
}

// A standard queue's receive states and deletes are its journal's records:
// after a restart, a message deleted is gone, one whose visibility was
// changed keeps it, one made visible again comes back with its receive
// count, and the records go once no message needs them.
func TestJournalAfterRestart(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, c := bareService(t, st, func(s *sqs.Service) { s.SetReap(time.Hour, time.Hour) })
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("journal")})
	if err != nil {
		t.Fatal(err)
	}
	stream := queueStream(t, st, "journal")
	sendN(t, c, q.QueueUrl, 10)
	got := receiveAll(t, c, q.QueueUrl, 10, 600)
	deleteBodies(t, c, q.QueueUrl, got, 0, 1, 2)
	for body, vt := range map[int]int32{3: 0, 4: 1200} {
		if _, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: q.QueueUrl,
			ReceiptHandle: got[fmt.Sprint(body)].ReceiptHandle, VisibilityTimeout: vt}); err != nil {
			t.Fatal(err)
		}
	}
	svc.Close()

	_, c2 := bareService(t, st, func(s *sqs.Service) { s.SetReap(10*time.Millisecond, 200*time.Millisecond) })
	out, err := c2.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
		WaitTimeSeconds: 1, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || *out.Messages[0].Body != "3" || out.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the restart received %v, want message 3 only, received twice", out.Messages)
	}
	// The restarted index reads the stream in the background: the counts
	// reach every message once it has (message 3 may be received first).
	waitfor.True(t, "visible 0, not visible 7", func() bool {
		attrs, err := c2.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "7"
	})
	// Messages 3 … 9 deleted with the handles of their latest receives:
	// the stream empties, the journal's records with it.
	got["3"] = out.Messages[0]
	deleteBodies(t, c2, q.QueueUrl, got, 3, 4, 5, 6, 7, 8, 9)
	waitfor.True(t, "the stream emptied", func() bool { return streamAll(t, stream) == 0 })
}
