package targets

import (
	"context"

	"github.com/conveyor/conveyor/internal/delivery"
)

// QueueSender sends a message to a queue of the account (the SQS service
// implements it). It wraps [delivery.ErrNotFound] when the queue does not exist.
type QueueSender interface {
	SendToQueue(ctx context.Context, arn string, body []byte) error
}

// Queue delivers to an SQS queue: the payload becomes the message body.
type Queue struct{ sender QueueSender }

// NewQueue returns the queue adapter.
func NewQueue(s QueueSender) *Queue { return &Queue{sender: s} }

// Invoke sends the job's payload to the queue its target ARN names.
func (q *Queue) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil || a.Kind != KindQueue {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "target %s is not an SQS queue ARN", job.TargetARN)
	}
	if q.sender == nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "SQS queue targets are not configured")
	}
	if err := q.sender.SendToQueue(ctx, job.TargetARN, job.Payload); err != nil {
		return classify(err, "send to queue "+a.Name)
	}
	return nil
}
