package sqs_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// Dead letters go back to the queues they came from with a message movement task (the
// DLQ redrive of the SQS console and CLI), or to a queue named; a task can be listed and
// cancelled, and what SQS refuses is refused in its words.
func TestMessageMoveTask(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	dlq := createQueue(t, c, "jobs-dlq", nil)
	dlqARN := queueAttrs(t, c, dlq)["QueueArn"]
	policy := map[string]string{"VisibilityTimeout": "0", "RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"1"}`}
	jobs, more := createQueue(t, c, "jobs", policy), createQueue(t, c, "more-jobs", policy)
	other := createQueue(t, c, "other", nil)
	otherARN := queueAttrs(t, c, other)["QueueArn"]
	// Three dead letters, two from jobs and one from more-jobs.
	for _, m := range []struct{ url, body string }{{jobs, "j1"}, {jobs, "j2"}, {more, "m1"}} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &m.url, MessageBody: aws.String(m.body),
			MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String(m.body)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, url := range []string{jobs, more} {
		waitfor.True(t, "the messages of "+url+" dead-lettered", func() bool {
			_ = receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
			return counts(t, c, url) == "0/0/0"
		})
	}
	wantErr := func(what string, err error, code, message string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != message {
			t.Errorf("%s: %v, want %s: %s", what, err, code, message)
		}
	}
	_, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(otherARN)})
	wantErr("a source that is no dead-letter queue", err, "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN + "-nope")})
	wantErr("a source that does not exist", err, "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), DestinationArn: aws.String(otherARN + "-nope")})
	wantErr("a destination that does not exist", err, "ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.")

	// Back where they came from.
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}); err != nil {
		t.Fatal(err)
	}
	var task types.ListMessageMoveTasksResultEntry
	waitfor.True(t, "the task completed", func() bool {
		out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		if err != nil || len(out.Results) != 1 {
			t.Fatalf("ListMessageMoveTasks: %+v %v", out, err)
		}
		task = out.Results[0]
		return aws.ToString(task.Status) == "COMPLETED"
	})
	if task.ApproximateNumberOfMessagesMoved != 3 || task.ApproximateNumberOfMessagesToMove == nil || *task.ApproximateNumberOfMessagesToMove != 3 ||
		task.TaskHandle != nil || task.DestinationArn != nil || aws.ToString(task.SourceArn) != dlqARN || task.StartedTimestamp == 0 {
		t.Errorf("the completed task: %+v", task)
	}
	// bodies receives the messages of url; those sent with an attribute k (all but the slow
	// ones) still have it.
	bodies := func(url string) []string {
		var got []string
		for _, m := range receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}}) {
			if !strings.HasPrefix(aws.ToString(m.Body), "slow") && aws.ToString(m.MessageAttributes["k"].StringValue) != aws.ToString(m.Body) {
				t.Errorf("a moved message lost its attributes: %+v", m)
			}
			got = append(got, aws.ToString(m.Body))
		}
		slices.Sort(got)
		return got
	}
	if got := bodies(jobs); !slices.Equal(got, []string{"j1", "j2"}) {
		t.Errorf("back in jobs: %v", got)
	}
	if got := bodies(more); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("back in more-jobs: %v", got)
	}
	// Dead again, and on to another queue, slowly: cancelled half way, the others stay.
	for i := range 10 {
		send(t, c, dlq, "slow"+string(rune('a'+i)))
	}
	rate := int32(2)
	started, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), DestinationArn: aws.String(otherARN),
		MaxNumberOfMessagesPerSecond: &rate})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)})
	wantErr("a second task", err, "InvalidParameterValue", "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
	running, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(10)})
	if err != nil || len(running.Results) != 2 || aws.ToString(running.Results[0].Status) != "RUNNING" ||
		aws.ToString(running.Results[0].TaskHandle) != aws.ToString(started.TaskHandle) || aws.ToString(running.Results[0].DestinationArn) != otherARN ||
		aws.ToInt32(running.Results[0].MaxNumberOfMessagesPerSecond) != 2 {
		t.Fatalf("the running task: %+v %v", running, err)
	}
	cancelled, err := c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: started.TaskHandle})
	if err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the task cancelled", func() bool {
		out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		return err == nil && aws.ToString(out.Results[0].Status) == "CANCELLED"
	})
	moved := len(bodies(other))
	if moved < int(cancelled.ApproximateNumberOfMessagesMoved) || moved >= 10 {
		t.Errorf("%d messages moved before the cancel (it said %d), want at least that many, and not all", moved, cancelled.ApproximateNumberOfMessagesMoved)
	}
	left := 0
	waitfor.True(t, "the rest visible in the dead-letter queue", func() bool {
		left += len(bodies(dlq))
		return left+moved == 10
	})
	_, err = c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("not a handle")})
	wantErr("a handle that is none", err, "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
}

// A message that no source queue sent (sent to the dead-letter queue itself) stays when the
// others go back; a dead-letter queue deleted under a running task ends it, the server
// going on, and its tasks go with it.
func TestMessageMoveTaskLeftovers(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	dlq := createQueue(t, c, "left-dlq", nil)
	dlqARN := queueAttrs(t, c, dlq)["QueueArn"]
	src := createQueue(t, c, "left", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"1"}`})
	send(t, c, dlq, "direct")
	for i := range 12 {
		send(t, c, src, "dead"+string(rune('a'+i)))
	}
	waitfor.True(t, "the messages dead-lettered", func() bool {
		_ = receive(t, c, src, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
		return counts(t, c, src) == "0/0/0"
	})
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the task completed", func() bool {
		out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		if err != nil {
			t.Fatal(err)
		}
		r := out.Results[0]
		if s := aws.ToString(r.Status); s != "RUNNING" && (s != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 12) {
			t.Fatalf("the task: %+v", r)
		}
		return aws.ToString(r.Status) == "COMPLETED"
	})
	if got := counts(t, c, dlq); got != "1/0/0" {
		t.Errorf("the dead-letter queue after the task: %s, want the direct message alone, visible", got)
	}
	// Dead again, moving slowly when their dead-letter queue goes.
	waitfor.True(t, "the messages dead-lettered again", func() bool {
		_ = receive(t, c, src, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
		return counts(t, c, src) == "0/0/0"
	})
	rate := int32(1)
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), MaxNumberOfMessagesPerSecond: &rate}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &dlq}); err != nil {
		t.Fatal(err)
	}
	// The task's next message was due within a second: a task that did not end with its
	// queue would have read it by now.
	time.Sleep(1500 * time.Millisecond)
	dlq = createQueue(t, c, "left-dlq", nil)
	out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
	if err != nil || len(out.Results) != 0 {
		t.Errorf("the tasks of a new queue of the same name: %+v %v", out, err)
	}
}
