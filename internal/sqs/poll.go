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

// Poll receives up to max messages of the queue with ARN arn (with all their attributes),
// waiting up to wait for the first, as a Lambda event source mapping polls: what ReceiveMessage
// answers its owner. The messages stay in flight for the queue's visibility timeout.
func (s *Service) Poll(ctx context.Context, arn string, max int, wait time.Duration) ([]Message, error) {
	ctx, url, err := s.ownerContext(ctx, arn)
	if err != nil {
		return nil, err
	}
	secs := int(wait / time.Second)
	out, err := s.receiveMessage(ctx, &receiveMessageInput{QueueUrl: url, AttributeNames: nameList{names: []string{"All"}},
		MessageAttributeNames: []string{"All"}, MaxNumberOfMessages: &max, WaitTimeSeconds: &secs})
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
