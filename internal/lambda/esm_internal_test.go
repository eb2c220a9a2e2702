package lambda

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/sqs"
)

// A partial batch response fails the messages it names; one that is not
// JSON, or names no message of the batch, or a message by an empty or null
// itemIdentifier, fails the whole batch, as Lambda's success and failure
// conditions say; an empty or null response or list fails none.
func TestBatchItemFailures(t *testing.T) {
	msgs := []sqs.Message{{MessageId: "m1"}, {MessageId: "m2"}, {MessageId: "m3"}}
	for _, c := range []struct {
		resp   string
		failed []string // nil: none
		whole  bool     // the whole batch failed
	}{
		{resp: ``},
		{resp: `null`},
		{resp: `{}`},
		{resp: `"done"`},
		{resp: `{"batchItemFailures":null}`},
		{resp: `{"batchItemFailures":[]}`},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, failed: []string{"m2"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m3"}]}`, failed: []string{"m1", "m3"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"not-a-message"}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":""}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemId":"m1"}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m1"},"m2"]}`, whole: true},
		{resp: `{"batchItemFailures":"m1"}`, whole: true},
		{resp: `{"batchItemFailures":[`, whole: true},
	} {
		failed, err := batchItemFailures([]byte(c.resp), msgs)
		if (err != nil) != c.whole {
			t.Errorf("%s: error %v, want the whole batch failed %v", c.resp, err, c.whole)
			continue
		}
		if got := slices.Sorted(maps.Keys(failed)); !slices.Equal(got, c.failed) {
			t.Errorf("%s: failed %v, want %v", c.resp, got, c.failed)
		}
	}
}

// waitingQueue is a queue of messages for gather: a poll takes up to max of them, or waits
// up to its wait for none when there are none.
type waitingQueue struct {
	mu    sync.Mutex
	msgs  []sqs.Message
	waits []time.Duration
}

func (q *waitingQueue) Poll(ctx context.Context, _ string, max int, wait time.Duration) ([]sqs.Message, error) {
	q.mu.Lock()
	q.waits = append(q.waits, wait)
	n := min(max, len(q.msgs))
	got := q.msgs[:n:n]
	q.msgs = q.msgs[n:]
	q.mu.Unlock()
	if n == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return got, nil
}
func (q *waitingQueue) DeleteReceived(context.Context, string, string) error { return nil }
func (q *waitingQueue) VisibilityTimeout(string) (time.Duration, bool)       { return time.Minute, true }
func (q *waitingQueue) SendDeadLetter(context.Context, string, []byte, map[string]string) error {
	return nil
}

func messages(n, size int) []sqs.Message {
	out := make([]sqs.Message, n)
	for i := range out {
		out[i] = sqs.Message{MessageId: fmt.Sprint(i), Body: strings.Repeat("x", size)}
	}
	return out
}

// A batching window gathers a batch as Lambda does: until BatchSize messages (at once when
// they are there, however long the window), until the window is over, or until one more
// message might take the bodies past 6 MB; without a window the batch is the first poll's.
func TestGather(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		size, window  int
		queued, bytes int
		want          int
		atLeast       time.Duration // how long gathering must take: the window, when it ends the batch
	}{
		{name: "no window", size: 10, queued: 20, bytes: 10, want: 1},
		{name: "full before a long window", size: 25, window: 300, queued: 40, bytes: 10, want: 25},
		{name: "the window ends it", size: 100, window: 1, queued: 11, bytes: 10, want: 12, atLeast: time.Second},
		{name: "6 MB of bodies end it", size: 10000, window: 300, queued: 100, bytes: 1 << 20, want: 6},
		{name: "small bodies do not", size: 1000, window: 300, queued: 2000, bytes: 100, want: 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &waitingQueue{msgs: messages(c.queued, c.bytes)}
			s := &Service{cfg: Config{Queues: q}}
			m := Mapping{BatchSize: c.size, MaximumBatchingWindowInSeconds: c.window}
			start := time.Now()
			first := messages(1, c.bytes)
			first[0].MessageId = "first"
			got := s.gather(ctx, m, first)
			if len(got) != c.want || time.Since(start) < c.atLeast {
				t.Errorf("a batch of %d after %v, want %d after at least %v", len(got), time.Since(start), c.want, c.atLeast)
			}
			for _, w := range q.waits {
				if w > time.Duration(c.window)*time.Second {
					t.Errorf("a poll waited %v, past the window", w)
				}
			}
		})
	}
	// A message the batch holds comes back when the window outlasts the queue's visibility
	// timeout: the batch keeps it once, with the receipt handle of its last receive.
	again := sqs.Message{MessageId: "0", ReceiptHandle: "second receive", Body: "x"}
	q := &waitingQueue{msgs: []sqs.Message{again, {MessageId: "1", Body: "y"}}}
	s := &Service{cfg: Config{Queues: q}}
	got := s.gather(ctx, Mapping{BatchSize: 10, MaximumBatchingWindowInSeconds: 1}, []sqs.Message{{MessageId: "0", ReceiptHandle: "first receive", Body: "x"}})
	if len(got) != 2 || got[0].ReceiptHandle != "second receive" || got[1].MessageId != "1" {
		t.Errorf("a batch with a message received twice: %+v", got)
	}
}
