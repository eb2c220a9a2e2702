package sqs

import (
	"context"
	"time"
)

// A FIFO queue's ReceiveMessage with a ReceiveRequestAttemptId is kept five
// minutes: a retry with the same id (after a network error, say) gets the
// same messages with the same receipt handles, and their visibility timeout
// starts again, as long as none of them was deleted, received again or had
// its visibility changed since. Otherwise the retry is a receive of its own.
// Attempts are kept by the process that answered: a retry that reaches
// another Conveyor sharing the queue is a receive of its own.
const (
	attemptTTL = 5 * time.Minute
	// maxAttempts bounds the attempts a queue keeps; the oldest go first.
	maxAttempts = 10000
)

// attempt is what a receive with a ReceiveRequestAttemptId handed out.
type attempt struct {
	at        time.Time
	msgs      []Message
	visibleAt int64 // unix ms: when the receive made them visible again
}

// rememberAttempt keeps what the receive with attempt id handed out.
func (q *queue) rememberAttempt(id string, msgs []Message, now time.Time, visibleAt int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.attempts == nil {
		q.attempts = map[string]*attempt{}
	}
	if len(q.attempts) >= maxAttempts {
		// Full: the expired go (retryAttempt drops them as it meets them
		// too), and the oldest if none had.
		for k, a := range q.attempts {
			if now.Sub(a.at) > attemptTTL {
				delete(q.attempts, k)
			}
		}
	}
	if len(q.attempts) >= maxAttempts {
		var oldest string
		for k, a := range q.attempts {
			if oldest == "" || a.at.Before(q.attempts[oldest].at) {
				oldest = k
			}
		}
		delete(q.attempts, oldest)
	}
	q.attempts[id] = &attempt{at: now, msgs: msgs, visibleAt: visibleAt}
}

// retryAttempt answers a retry of the receive with attempt id: its
// messages, invisible for vt seconds from now, if it is kept and none of
// them was modified since.
func (s *Service) retryAttempt(ctx context.Context, q *queue, id string, now time.Time, vt int) ([]Message, bool) {
	q.mu.Lock()
	a, ok := q.attempts[id]
	if ok && now.Sub(a.at) > attemptTTL {
		delete(q.attempts, id)
		ok = false
	}
	var rs []receipt
	for i := 0; ok && i < len(a.msgs); i++ {
		r, err := s.parseHandle(q, a.msgs[i].ReceiptHandle)
		e, indexed := q.msgs[r.seq]
		if err != nil || !indexed || e.receives != r.receives || e.visibleAt != a.visibleAt {
			ok = false
		}
		rs = append(rs, r)
	}
	if !ok {
		delete(q.attempts, id)
		q.mu.Unlock()
		return nil, false
	}
	q.mu.Unlock()
	visibleAt := now.UnixMilli() + int64(vt)*1000
	for _, r := range rs {
		if err := q.setVisible(ctx, now, r.seq, r.receives, visibleAt); err != nil {
			// Visible again meanwhile (its timeout ended): not the same
			// receive any more.
			return nil, false
		}
	}
	q.mu.Lock()
	a.visibleAt = visibleAt
	q.mu.Unlock()
	return a.msgs, true
}
