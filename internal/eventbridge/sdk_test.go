package eventbridge_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	conveyor "github.com/conveyor/conveyor/internal/eventbridge"

	"github.com/conveyor/conveyor/internal/sdktest"
)

func sdkClient(url string) *eventbridge.Client {
	return eventbridge.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      sdktest.Retryer,
	})
}

// wantAPIError checks that err is the typed SDK error T (or, for codes the
// SDK has no type for, a smithy.APIError with that code) with the message.
func wantAPIError(t *testing.T, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Fatalf("error = %s: %s, want %s: %s", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
}

// TestSDK drives every operation through the AWS SDK for Go v2, and checks
// that AWS's errors come out as the SDK's typed errors.
func TestSDK(t *testing.T) {
	srv := startServer(t, conveyor.Config{MaxRulesPerBus: 3}, false)
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c := sdkClient(srv.URL)
	ctx := context.Background()

	// Buses.
	cb, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders"), Description: aws.String("d"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	ok(err)
	if aws.ToString(cb.EventBusArn) != "arn:aws:events:us-east-1:123456789012:event-bus/orders" {
		t.Fatalf("EventBusArn = %s", aws.ToString(cb.EventBusArn))
	}
	_, err = c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("CreateEventBus twice: %v, want ResourceAlreadyExistsException", err)
	}
	db, err := c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	ok(err)
	if aws.ToString(db.Description) != "d" || db.CreationTime == nil || !db.CreationTime.Equal(testClock.Truncate(1e6)) {
		t.Fatalf("DescribeEventBus = %+v", db)
	}
	_, err = c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || aws.ToString(notFound.Message) != "Event bus nope does not exist." {
		t.Fatalf("DescribeEventBus(nope): %v", err)
	}
	_, err = c.UpdateEventBus(ctx, &eventbridge.UpdateEventBusInput{Name: aws.String("orders"), Description: aws.String("d2")})
	ok(err)
	var names []string
	var token *string
	for {
		page, err := c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{Limit: aws.Int32(1), NextToken: token})
		ok(err)
		for _, b := range page.EventBuses {
			names = append(names, aws.ToString(b.Name))
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if fmt.Sprint(names) != "[default orders]" {
		t.Fatalf("buses page by page = %v", names)
	}
	_, err = c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: aws.String("bogus")})
	wantAPIError(t, err, "ValidationException", "The NextToken provided is not valid.")

	// Rules.
	pr, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders"),
		EventPattern: aws.String(`{"source":["shop"]}`), State: types.RuleStateDisabled})
	ok(err)
	if aws.ToString(pr.RuleArn) != "arn:aws:events:us-east-1:123456789012:rule/orders/r" {
		t.Fatalf("RuleArn = %s", aws.ToString(pr.RuleArn))
	}
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(`{"source":"x"}`)})
	var badPattern *types.InvalidEventPatternException
	if !errors.As(err, &badPattern) {
		t.Fatalf("PutRule with a bad pattern: %v, want InvalidEventPatternException", err)
	}
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sched"), ScheduleExpression: aws.String("rate(1 minutes)")})
	wantAPIError(t, err, "ValidationException", "Parameter ScheduleExpression is not valid.")
	_, err = c.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders")})
	ok(err)
	dr, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders")})
	ok(err)
	if dr.State != types.RuleStateEnabled || aws.ToString(dr.EventBusName) != "orders" {
		t.Fatalf("DescribeRule = %+v", dr)
	}
	_, err = c.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders")})
	ok(err)
	for i := range 2 {
		_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(fmt.Sprint("more", i)), EventBusName: aws.String("orders"),
			EventPattern: aws.String(`{"source":["x"]}`)})
		ok(err)
	}
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("fourth"), EventBusName: aws.String("orders"),
		EventPattern: aws.String(`{"source":["x"]}`)})
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Fatalf("fourth rule with a limit of 3: %v, want LimitExceededException", err)
	}
	lr, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("orders"), NamePrefix: aws.String("more")})
	ok(err)
	if len(lr.Rules) != 2 {
		t.Fatalf("ListRules(more) = %+v", lr.Rules)
	}

	// Connections and API destinations.
	cc, err := c.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-key"), ApiKeyValue: aws.String("secret")}}})
	ok(err)
	if cc.ConnectionState != types.ConnectionStateAuthorized {
		t.Fatalf("CreateConnection = %+v", cc)
	}
	dc, err := c.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("conn")})
	ok(err)
	if dc.AuthParameters == nil || aws.ToString(dc.AuthParameters.ApiKeyAuthParameters.ApiKeyName) != "x-key" || dc.SecretArn == nil {
		t.Fatalf("DescribeConnection = %+v", dc)
	}
	_, err = c.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("conn"), Description: aws.String("x")})
	ok(err)
	lc, err := c.ListConnections(ctx, &eventbridge.ListConnectionsInput{})
	ok(err)
	if len(lc.Connections) != 1 {
		t.Fatalf("ListConnections = %+v", lc)
	}
	cd, err := c.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("dest"),
		ConnectionArn: cc.ConnectionArn, InvocationEndpoint: aws.String("http://127.0.0.1:9/hook"), HttpMethod: types.ApiDestinationHttpMethodPost})
	ok(err)
	if cd.ApiDestinationState != types.ApiDestinationStateActive {
		t.Fatalf("CreateApiDestination = %+v", cd)
	}
	dd, err := c.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest")})
	ok(err)
	if aws.ToInt32(dd.InvocationRateLimitPerSecond) != 300 {
		t.Fatalf("DescribeApiDestination = %+v", dd)
	}
	_, err = c.UpdateApiDestination(ctx, &eventbridge.UpdateApiDestinationInput{Name: aws.String("dest"), InvocationRateLimitPerSecond: aws.Int32(5)})
	ok(err)
	la, err := c.ListApiDestinations(ctx, &eventbridge.ListApiDestinationsInput{})
	ok(err)
	if len(la.ApiDestinations) != 1 {
		t.Fatalf("ListApiDestinations = %+v", la)
	}
	_, err = c.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("nope")})
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeApiDestination(nope): %v", err)
	}

	// Targets. A target delivery cannot reach refuses the whole call.
	targets := []types.Target{
		{Id: aws.String("http"), Arn: cd.ApiDestinationArn, RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
			InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"s": "$.source"}, InputTemplate: aws.String(`{"s": <s>}`)}},
		{Id: aws.String("bus"), Arn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")},
		{Id: aws.String("bad"), Arn: aws.String("nonsense")},
	}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String("orders"), Targets: targets})
	wantAPIError(t, err, "ValidationException", "Parameter nonsense is not valid. Reason: Provided Arn is not in correct format.")
	pt, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String("orders"), Targets: targets[:2]})
	ok(err)
	if pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets = %+v", pt)
	}
	lt, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), EventBusName: aws.String("orders")})
	ok(err)
	if len(lt.Targets) != 2 || aws.ToString(lt.Targets[1].Id) != "http" || aws.ToInt32(lt.Targets[1].RetryPolicy.MaximumRetryAttempts) != 0 ||
		aws.ToString(lt.Targets[1].InputTransformer.InputTemplate) != `{"s": <s>}` {
		t.Fatalf("ListTargetsByRule = %+v", lt.Targets)
	}
	rn, err := c.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: cd.ApiDestinationArn, EventBusName: aws.String("orders")})
	ok(err)
	if fmt.Sprint(rn.RuleNames) != "[r]" {
		t.Fatalf("ListRuleNamesByTarget = %v", rn.RuleNames)
	}
	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders")})
	wantAPIError(t, err, "ValidationException", "Rule can't be deleted since it has targets.")
	rt, err := c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("r"), EventBusName: aws.String("orders"), Ids: []string{"http", "bus", "gone"}})
	ok(err)
	if rt.FailedEntryCount != 1 || aws.ToString(rt.FailedEntries[0].TargetId) != "gone" {
		t.Fatalf("RemoveTargets = %+v", rt)
	}
	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders")})
	ok(err)

	// Tags.
	busArn := "arn:aws:events:us-east-1:123456789012:event-bus/orders"
	_, err = c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(busArn), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	ok(err)
	_, err = c.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(busArn), TagKeys: []string{"k"}})
	ok(err)
	tags, err := c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(busArn)})
	ok(err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "a" {
		t.Fatalf("ListTagsForResource = %+v", tags.Tags)
	}

	// Deletions.
	_, err = c.DeleteApiDestination(ctx, &eventbridge.DeleteApiDestinationInput{Name: aws.String("dest")})
	ok(err)
	_, err = c.DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("conn")})
	ok(err)
	del, err := c.DeleteConnection(ctx, &eventbridge.DeleteConnectionInput{Name: aws.String("conn")})
	ok(err)
	if del.ConnectionState != types.ConnectionStateDeleting {
		t.Fatalf("DeleteConnection = %+v", del)
	}
	_, err = c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")})
	ok(err)
	_, err = c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
	wantAPIError(t, err, "ValidationException", "Cannot delete event bus default.")
}
