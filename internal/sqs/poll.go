package sqs

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/scope"
)

// ownerContext is ctx as the owner of the queue with ARN arn calls: its account and region,
// and the queue's URL.
func (s *Service) ownerContext(ctx context.Context, arn string) (context.Context, string, error) {
	q := s.queueByARN(arn)
	if q == nil {
		return nil, "", fmt.Errorf("queue %s: %w", arn, errNoQueue())
	}
	a, _ := scope.ParseARN(arn)
	ctx = awsapi.ContextWithCaller(ctx, awsapi.Caller{Account: a.Account, Region: a.Region})
	return ctx, "http://localhost/" + a.Account + "/" + q.name, nil
}

// Poll receives up to max (at most 10) messages of the queue with ARN arn (with all their
// attributes), waiting up to wait (at most 20 s) for the first, as a Lambda event source
// mapping polls: what ReceiveMessage answers its owner. The messages stay in flight for the
// queue's visibility timeout.
func (s *Service) Poll(ctx context.Context, arn string, max int, wait time.Duration) ([]Message, error) {
	ctx, url, err := s.ownerContext(ctx, arn)
	if err != nil {
		return nil, err
	}
	secs := 0
	out, err := s.receiveMessage(ctx, &receiveMessageInput{QueueUrl: url, AttributeNames: nameList{names: []string{"All"}},
		MessageAttributeNames: []string{"All"}, MaxNumberOfMessages: &max, WaitTimeSeconds: &secs, wait: min(wait, maxWaitTimeSeconds*time.Second)})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// DeleteReceived deletes a message Poll received from the queue with ARN arn.
func (s *Service) DeleteReceived(ctx context.Context, arn, receiptHandle string) error {
	ctx, url, err := s.ownerContext(ctx, arn)
	if err != nil {
		return err
	}
	_, err = s.deleteMessage(ctx, &deleteMessageInput{QueueUrl: url, ReceiptHandle: receiptHandle})
	return err
}

// SendDeadLetter sends body, with string message attributes attrs, to the
// standard queue arn, as a Lambda function's dead-letter queue receives an
// asynchronous invocation that failed for good (its payload, with
// RequestID, ErrorCode and ErrorMessage). A queue that does not exist, a
// FIFO queue, or a body the queue cannot take is an error.
func (s *Service) SendDeadLetter(ctx context.Context, arn string, body []byte, attrs map[string]string) error {
	q := s.queueByARN(arn)
	if q == nil {
		return fmt.Errorf("sqs: queue %s does not exist", arn)
	}
	rec := q.record()
	if rec.fifo() {
		return fmt.Errorf("sqs: queue %s is a FIFO queue", arn)
	}
	values := make(map[string]MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		values[k] = MessageAttributeValue{DataType: "String", StringValue: &v}
	}
	size, err := checkMessageAttributes(values)
	if err != nil {
		return fmt.Errorf("sqs: dead letter's attributes: %w", err)
	}
	if len(body) == 0 || !validBody(body) || len(body)+size > rec.maxSize() {
		return fmt.Errorf("sqs: queue %s cannot take a dead letter of %d bytes", arn, len(body))
	}
	_, err = q.publish(ctx, &outgoing{body: body, delay: -1, attrs: values})
	return err
}
