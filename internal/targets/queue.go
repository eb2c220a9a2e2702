package targets

import (
	"context"

	"github.com/conveyor/conveyor/internal/delivery"
)

// QueueSender sends the payloads of delivery jobs as messages to the queues
// their target ARNs name (the SQS service implements it): each in its
// job's message group and, for a FIFO queue, deduplicated by its event id.
// errs[i] is jobs[i]'s outcome; it wraps [delivery.ErrNotFound] when the
// queue does not exist.
type QueueSender interface {
	Deliver(ctx context.Context, jobs []*delivery.Job, errs []error)
}

// Queue delivers to an SQS queue: the payload becomes the message body.
type Queue struct{ sender QueueSender }

// NewQueue returns the queue adapter.
func NewQueue(s QueueSender) *Queue { return &Queue{sender: s} }

// Invoke sends the job's payload to the queue its target ARN names, in the
// target's message group; a FIFO queue deduplicates by the event's id, so a
// retried delivery is stored once.
func (q *Queue) Invoke(ctx context.Context, job *delivery.Job) error {
	var errs [1]error
	q.InvokeBatch(ctx, []*delivery.Job{job}, errs[:])
	return errs[0]
}

// InvokeBatch is Invoke for several jobs at once, their messages written
// together; errs[i] is jobs[i]'s outcome.
func (q *Queue) InvokeBatch(ctx context.Context, jobs []*delivery.Job, errs []error) {
	sendSome(jobs, errs, func(i int, job *delivery.Job) bool {
		if q.sender == nil {
			errs[i] = delivery.Errorf(delivery.CodeInvalidParameter, false, "SQS queue targets are not configured")
			return true
		}
		if a, err := ParseARN(job.TargetARN); err != nil || a.Kind != KindQueue {
			errs[i] = delivery.Errorf(delivery.CodeInvalidParameter, false, "target %s is not an SQS queue ARN", job.TargetARN)
			return true
		}
		return false
	}, func(send []*delivery.Job, sent []error) {
		q.sender.Deliver(ctx, send, sent)
		for k, err := range sent {
			if err != nil {
				a, _ := ParseARN(send[k].TargetARN)
				sent[k] = classify(err, "send to queue "+a.Name)
			}
		}
	})
}

// sendSome settles jobs in two ways: settled(i, job) settles jobs[i] on its
// own (setting errs[i]) and reports that it did; the others go to send
// together, and their outcomes back to errs.
func sendSome(jobs []*delivery.Job, errs []error, settled func(i int, job *delivery.Job) bool, send func(jobs []*delivery.Job, errs []error)) {
	rest := make([]*delivery.Job, 0, len(jobs))
	at := make([]int, 0, len(jobs))
	for i, job := range jobs {
		if !settled(i, job) {
			rest, at = append(rest, job), append(at, i)
		}
	}
	if len(rest) == 0 {
		return
	}
	sent := make([]error, len(rest))
	send(rest, sent)
	for k, err := range sent {
		errs[at[k]] = err
	}
}
