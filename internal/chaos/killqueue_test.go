package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestKillQueueTarget kills `conveyor serve` with SIGKILL twice while
// PutEvents calls stream events to a rule whose target is a queue (the
// events a call puts reach it together, as one stream message) and
// receivers receive and delete them, then checks: every acknowledged event
// is received (some more than once: a delivery retried after a kill is a
// message of its own); no message is received again once a
// DeleteMessageBatch said it was deleted; the queue empties.
func TestKillQueueTarget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := &syncbuf.Buffer{}
	p := start(t, dir, log)
	var mu sync.Mutex // guards p
	cur := func() *proc { mu.Lock(); defer mu.Unlock(); return p }

	q, err := p.sqs().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("kills"),
		Attributes: map[string]string{"VisibilityTimeout": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := p.sqs().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	eb := p.events()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("to-queue"), EventPattern: aws.String(`{"source":["chaos.queue"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("to-queue"),
		Targets: []types.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	var (
		ackMu   sync.Mutex
		acked   []string
		seq     atomic.Int64
		got     = &tally{received: map[string]int{}}
		delMu   sync.Mutex
		deleted = map[string]bool{} // message IDs a DeleteMessageBatch said were deleted
		again   atomic.Value        // a message received after its delete
	)
	stopPut, stopRecv := make(chan struct{}), make(chan struct{})
	var puts, recvs sync.WaitGroup
	for range 3 {
		puts.Go(func() {
			putLoad(ctx, stopPut, "chaos.queue", func() *eventbridge.Client { return cur().events() }, &seq, func(ids []string) {
				ackMu.Lock()
				acked = append(acked, ids...)
				ackMu.Unlock()
			})
		})
	}
	for range 4 {
		recvs.Go(func() {
			for {
				select {
				case <-stopRecv:
					return
				default:
				}
				c := cur().sqs()
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				out, err := c.ReceiveMessage(cctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				cancel()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if len(out.Messages) == 0 {
					continue
				}
				var entries []sqstypes.DeleteMessageBatchRequestEntry
				ids := map[string]string{}
				for i, m := range out.Messages {
					var ev struct{ ID string }
					if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.ID == "" {
						again.Store("a body that is not an event: " + aws.ToString(m.Body))
						continue
					}
					delMu.Lock()
					if deleted[aws.ToString(m.MessageId)] {
						again.Store(aws.ToString(m.MessageId) + " (event " + ev.ID + ")")
					}
					delMu.Unlock()
					got.add(ev.ID)
					id := fmt.Sprint(i)
					ids[id] = aws.ToString(m.MessageId)
					entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: m.ReceiptHandle})
				}
				cctx, cancel = context.WithTimeout(ctx, 10*time.Second)
				res, err := c.DeleteMessageBatch(cctx, &sqs.DeleteMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
				cancel()
				if err != nil {
					continue // they come back after their visibility timeout
				}
				delMu.Lock()
				for _, ok := range res.Successful {
					deleted[ids[aws.ToString(ok.Id)]] = true
				}
				delMu.Unlock()
			}
		})
	}

	ackedCount := func() int {
		ackMu.Lock()
		defer ackMu.Unlock()
		return len(acked)
	}
	for k := range 2 {
		before, recvBefore := ackedCount(), got.count()
		waitfor.Err(t, 60*time.Second, "events acknowledged and received after a (re)start", func() error {
			if n, r := ackedCount()-before, got.count()-recvBefore; n < 2000 || r < 500 {
				return fmt.Errorf("%d of 2000 acknowledged, %d of 500 received", n, r)
			}
			return nil
		})
		cur().kill()
		t.Logf("kill %d: %d events acknowledged, %d received", k+1, ackedCount(), got.count())
		np := start(t, dir, log)
		mu.Lock()
		p = np
		mu.Unlock()
	}
	close(stopPut)
	puts.Wait()

	ackMu.Lock()
	all := append([]string(nil), acked...)
	ackMu.Unlock()
	waitfor.Err(t, 90*time.Second, "every acknowledged event received", func() error {
		if m := got.missing(all); len(m) > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %v", len(m), len(all), m[:min(3, len(m))])
		}
		return nil
	})
	// The receivers go on until every message received is deleted.
	waitfor.Err(t, 30*time.Second, "the queue emptied", func() error {
		out, err := cur().sqs().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			return err
		}
		if a := out.Attributes; a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
			return fmt.Errorf("%s visible, %s not visible", a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"])
		}
		return nil
	})
	close(stopRecv)
	recvs.Wait()
	if v := again.Load(); v != nil {
		t.Errorf("received after a delete said it was deleted: %v", v)
	}
	t.Logf("all %d acknowledged events received (%d more than once)", len(all), got.duplicates())
}
