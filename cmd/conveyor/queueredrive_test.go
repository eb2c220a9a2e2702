package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestQueueRedrive: an event dead-lettered by a failing HTTP target goes
// back to it with `conveyor queue redrive` once the target works.
func TestQueueRedrive(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDREDRIVE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	in := servertest.Start(t, func(c *server.Config) { c.RetryBackoff = 10 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var up atomic.Bool
	var delivered atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered.Add(1)
	}))
	defer hook.Close()

	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("failures")})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := in.Events.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("c"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &ebtypes.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := in.Events.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(hook.URL), HttpMethod: ebtypes.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["app"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{{
		Id: aws.String("hook"), Arn: dest.ApiDestinationArn,
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:failures")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the dead letter", func() bool {
		a, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes["ApproximateNumberOfMessages"] == "1"
	})
	up.Store(true)
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"queue", "redrive", "--queue-url", aws.ToString(q.QueueUrl)}, &stdout, &stderr); err != nil {
		t.Fatalf("queue redrive: %v (%s)", err, stderr.String())
	}
	if got := stdout.String(); got != "redriven: 1\n" {
		t.Errorf("output %q", got)
	}
	waitfor.True(t, "the redriven event delivered", func() bool { return delivered.Load() > 0 })
	if delivered.Load() != 1 {
		t.Errorf("delivered %d after redrive", delivered.Load())
	}

	// Errors: an unknown queue, a missing flag.
	err = run(ctx, []string{"queue", "redrive", "--queue-url", in.URL + "/000000000000/nope"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "QueueDoesNotExist") {
		t.Errorf("unknown queue: %v", err)
	}
	if err := run(ctx, []string{"queue", "redrive"}, &stdout, &stderr); err == nil {
		t.Error("no --queue-url: no error")
	}
}
