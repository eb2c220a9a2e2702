package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// An OAUTH_CLIENT_CREDENTIALS connection is AUTHORIZING when created or
// updated, AUTHORIZED once its endpoint gave a token, DEAUTHORIZED (with the
// reason) when it refused; events reach an API destination on it with the
// bearer token, fetched once for many events; the client secret shows
// nowhere.
func TestOAuthConnection(t *testing.T) {
	var tokenCalls, delivered atomic.Int32
	var refuse atomic.Bool
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tokenCalls.Add(1)
		if id, secret, ok := r.BasicAuth(); refuse.Load() || !ok || id != "cid" || secret != "oauth-s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":3600,"token_type":"Bearer"}`, n)
	}))
	defer tokens.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		delivered.Add(1)
	}))
	defer api.Close()

	in := servertest.Start(t)
	ctx := context.Background()
	auth := func(endpoint string) *types.CreateConnectionAuthRequestParameters {
		return &types.CreateConnectionAuthRequestParameters{OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(endpoint), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("oauth-s3cret")},
			OAuthHttpParameters: &types.ConnectionHttpParameters{BodyParameters: []types.ConnectionBodyParameter{
				{Key: aws.String("grant_type"), Value: aws.String("client_credentials")}}},
		}}
	}
	created, err := in.Events.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"),
		AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials, AuthParameters: auth(tokens.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if created.ConnectionState != types.ConnectionStateAuthorizing {
		t.Errorf("CreateConnection answered %s", created.ConnectionState)
	}
	state := func(want types.ConnectionState) *eventbridge.DescribeConnectionOutput {
		t.Helper()
		var out *eventbridge.DescribeConnectionOutput
		waitfor.Err(t, waitfor.Timeout, "connection state "+string(want), func() error {
			out, err = in.Events.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("oauth")})
			if err == nil && out.ConnectionState != want {
				err = fmt.Errorf("connection state %s", out.ConnectionState)
			}
			return err
		})
		return out
	}
	state(types.ConnectionStateAuthorized)
	dest, err := in.Events.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("api"),
		ConnectionArn: created.ConnectionArn, InvocationEndpoint: aws.String(api.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventPattern: aws.String(`{"source":["app"]}`)}); err != nil {
		t.Fatal(err)
	}
	dlq, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("oauth-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"),
		Targets: []types.Target{{Id: aws.String("api"), Arn: dest.ApiDestinationArn,
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:oauth-dlq")}}}}); err != nil {
		t.Fatal(err)
	}
	put := func(n int) {
		t.Helper()
		for range n {
			if _, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
				Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(10)
	waitfor.True(t, "10 events delivered", func() bool { return delivered.Load() >= 10 })
	// One token to authorize, one for the deliveries.
	if n := tokenCalls.Load(); n > 2 {
		t.Errorf("%d token calls for 10 events", n)
	}

	// The endpoint refuses: DEAUTHORIZED with the reason, and no storm.
	refuse.Store(true)
	up, err := in.Events.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("oauth"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{OAuthParameters: &types.UpdateConnectionOAuthRequestParameters{
			ClientParameters: &types.UpdateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("oauth-s3cret")}}}})
	if err != nil || up.ConnectionState != types.ConnectionStateAuthorizing {
		t.Fatalf("UpdateConnection: %v %+v", err, up)
	}
	out := state(types.ConnectionStateDeauthorized)
	if !strings.Contains(aws.ToString(out.StateReason), "HTTP 401") {
		t.Errorf("StateReason %q", aws.ToString(out.StateReason))
	}
	before, calls := delivered.Load(), tokenCalls.Load()
	failedBefore := in.Counter(t, "conveyor_failed_invocations_total", "all")
	put(5)
	// They fail for good (no retry storm), without reaching the endpoint.
	waitfor.True(t, "5 events on a deauthorized connection to fail", func() bool {
		return in.Counter(t, "conveyor_failed_invocations_total", "all") >= failedBefore+5
	})
	if delivered.Load() != before || tokenCalls.Load() > calls+1 {
		t.Errorf("on a deauthorized connection: %d delivered, %d token calls", delivered.Load()-before, tokenCalls.Load()-calls)
	}
	dead, err := in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MaxNumberOfMessages: 10,
		MessageAttributeNames: []string{"ERROR_CODE"}, WaitTimeSeconds: 5})
	if err != nil || len(dead.Messages) == 0 || aws.ToString(dead.Messages[0].MessageAttributes["ERROR_CODE"].StringValue) != "NO_PERMISSIONS" {
		t.Errorf("dead letters of a deauthorized connection: %v %+v", err, dead)
	}

	// Fixed: authorized again, and events go through.
	refuse.Store(false)
	if _, err := in.Events.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("oauth"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{OAuthParameters: &types.UpdateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(tokens.URL)}}}); err != nil {
		t.Fatal(err)
	}
	state(types.ConnectionStateAuthorized)
	before = delivered.Load()
	put(3)
	waitfor.True(t, "3 events delivered after reauthorizing", func() bool { return delivered.Load() >= before+3 })

	// An endpoint that is neither https nor loopback http is refused.
	if _, err := in.Events.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("plain"),
		AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials, AuthParameters: auth("http://auth.example.com/token")}); err == nil ||
		!strings.Contains(err.Error(), "Parameter AuthorizationEndpoint http://auth.example.com/token is not valid") {
		t.Errorf("CreateConnection with a plain http endpoint: %v", err)
	}
	// The secret is in no record.
	ct := cloudtrail.NewFromConfig(in.AWSConfig())
	page, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Events {
		if strings.Contains(aws.ToString(e.CloudTrailEvent), "oauth-s3cret") {
			t.Errorf("the client secret is in a record: %s", aws.ToString(e.CloudTrailEvent))
		}
	}
}
