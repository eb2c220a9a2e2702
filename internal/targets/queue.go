package targets

import (
	"context"

	"github.com/conveyor/conveyor/internal/delivery"
)

// QueueSender sends a message to a queue of the account (the SQS service
// implements it): in message group group ("" for none) and, for a FIFO
// queue, with deduplication id dedup. It wraps [delivery.ErrNotFound] when
// the queue does not exist.
type QueueSender interface {
	SendToQueue(ctx context.Context, arn string, body []byte, group, dedup string) error
}

// Queue delivers to an SQS queue: the payload becomes the message body.
type Queue struct{ sender QueueSender }

// NewQueue returns the queue adapter.
func NewQueue(s QueueSender) *Queue { return &Queue{sender: s} }

// Invoke sends the job's payload to the queue its target ARN names, in the
// target's message group; a FIFO queue deduplicates by the event's id, so a
// retried delivery is stored once.
func (q *Queue) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil || a.Kind != KindQueue {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "target %s is not an SQS queue ARN", job.TargetARN)
	}
	if q.sender == nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "SQS queue targets are not configured")
	}
	if err := q.sender.SendToQueue(ctx, job.TargetARN, job.Payload, job.MessageGroupId, job.EventID); err != nil {
		return classify(err, "send to queue "+a.Name)
	}
	return nil
}
