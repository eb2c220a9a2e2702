package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

const (
	aliceAccount = "111111111111"
	bobAccount   = "222222222222"
)

// twoAccounts starts a Conveyor whose key file has alice (account 1111…) and bob (2222…).
func twoAccounts(t *testing.T) *servertest.Instance {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	doc := `{"accessKeys":[
	  {"accessKeyId":"AKIAALICE","secretAccessKey":"alice-secret","accountId":"` + aliceAccount + `","userName":"alice"},
	  {"accessKeyId":"AKIABOB","secretAccessKey":"bob-secret","accountId":"` + bobAccount + `","userName":"bob"}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, func(c *server.Config) { c.AuthFile = path })
}

func eventsIn(in *servertest.Instance, key, secret, region string) *eventbridge.Client {
	return eventbridge.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

func busNames(t *testing.T, c *eventbridge.Client) []string {
	t.Helper()
	out, err := c.ListEventBuses(context.Background(), &eventbridge.ListEventBusesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.EventBuses {
		names = append(names, aws.ToString(b.Name)+" "+aws.ToString(b.Arn))
	}
	return names
}

// Buses, rules and events are isolated per account and region: a bus "orders" in two scopes
// is two buses, each scope has its own default bus, an event put in one scope reaches only
// that scope's rules and carries its account and region, and no scope sees another's.
func TestAccountsAndRegions(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	aliceUS := eventsIn(in, "AKIAALICE", "alice-secret", "us-east-1")
	aliceEU := eventsIn(in, "AKIAALICE", "alice-secret", "eu-west-1")
	bobUS := eventsIn(in, "AKIABOB", "bob-secret", "us-east-1")

	type scoped struct {
		name            string
		c               *eventbridge.Client
		account, region string
		sink            *sink
	}
	all := []*scoped{
		{"alice us", aliceUS, aliceAccount, "us-east-1", newSink(t)},
		{"alice eu", aliceEU, aliceAccount, "eu-west-1", newSink(t)},
		{"bob us", bobUS, bobAccount, "us-east-1", newSink(t)},
	}
	for _, s := range all {
		out, err := s.c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
		if err != nil {
			t.Fatalf("%s: CreateEventBus: %v", s.name, err)
		}
		want := "arn:aws:events:" + s.region + ":" + s.account + ":event-bus/orders"
		if aws.ToString(out.EventBusArn) != want {
			t.Errorf("%s: bus ARN %s, want %s", s.name, aws.ToString(out.EventBusArn), want)
		}
		dest := servertest.APIDestination(t, s.c, "hook", s.sink.srv.URL)
		putRule(t, s.c, "orders", "all", `{"source":["shop"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	}
	for _, s := range all {
		want := []string{
			"default arn:aws:events:" + s.region + ":" + s.account + ":event-bus/default",
			"orders arn:aws:events:" + s.region + ":" + s.account + ":event-bus/orders",
		}
		if got := busNames(t, s.c); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", s.name, got, want)
		}
		rules, err := s.c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("orders")})
		if err != nil || len(rules.Rules) != 1 {
			t.Errorf("%s: ListRules: %v %+v", s.name, err, rules)
		}
	}
	// One event per scope; each sink gets its own scope's, with its account and region.
	for _, s := range all {
		out, err := s.c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String("orders"), Source: aws.String("shop"), DetailType: aws.String("order"),
			Detail: aws.String(`{"from":"` + s.name + `"}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("%s: PutEvents: %v %+v", s.name, err, out)
		}
	}
	for _, s := range all {
		bodies := s.sink.wait(t, 1)
		var ev struct {
			Account, Region string
			Detail          struct{ From string }
		}
		if err := json.Unmarshal(bodies[0], &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Account != s.account || ev.Region != s.region || ev.Detail.From != s.name {
			t.Errorf("%s's target got %s", s.name, bodies[0])
		}
	}
	// Another scope's bus is not there, by name or by ARN.
	var ae smithy.APIError
	_, err := bobUS.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("arn:aws:events:us-east-1:" + aliceAccount + ":event-bus/orders")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("bob describes alice's bus by ARN: %v", err)
	}
	if _, err := aliceEU.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	if got := busNames(t, aliceUS); len(got) != 2 {
		t.Errorf("deleting alice's eu bus changed her us buses: %v", got)
	}
	// A region that cannot be one is refused.
	_, err = eventsIn(in, "AKIAALICE", "alice-secret", strings.Repeat("a", 40)).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("bad region: %v", err)
	}
}

// Queues are isolated per account and region too: the same name in two accounts is two
// queues, with their account in the URL and ARN; a queue URL of another account is not found.
func TestQueuesPerAccount(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	client := func(key, secret, region string) *sqs.Client {
		return sqs.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	}
	alice, aliceEU, bob := client("AKIAALICE", "alice-secret", "us-east-1"), client("AKIAALICE", "alice-secret", "eu-west-1"),
		client("AKIABOB", "bob-secret", "us-east-1")
	urls := map[string]string{}
	for name, c := range map[string]*sqs.Client{"alice": alice, "aliceEU": aliceEU, "bob": bob} {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		urls[name] = aws.ToString(out.QueueUrl)
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("from " + name)}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasSuffix(urls["alice"], "/"+aliceAccount+"/jobs") || !strings.HasSuffix(urls["bob"], "/"+bobAccount+"/jobs") {
		t.Errorf("queue URLs %v", urls)
	}
	attrs, err := bob.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(urls["bob"]),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil || attrs.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:"+bobAccount+":jobs" {
		t.Errorf("bob's queue ARN: %v %v", attrs, err)
	}
	for name, c := range map[string]*sqs.Client{"alice": alice, "aliceEU": aliceEU, "bob": bob} {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls[name]), WaitTimeSeconds: 1})
		if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "from "+name {
			t.Errorf("%s receives %+v %v", name, out, err)
		}
		list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil || len(list.QueueUrls) != 1 || list.QueueUrls[0] != urls[name] {
			t.Errorf("%s lists %v %v", name, list, err)
		}
	}
	var ae smithy.APIError
	_, err = bob.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls["alice"]), MessageBody: aws.String("x")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("bob sends to alice's queue: %v", err)
	}
}

// Each account and region has its own event history: a call is in the history of the
// account and region it was made in, and no other.
func TestHistoryPerAccount(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	trail := func(key, secret, region string) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	}
	if _, err := eventsIn(in, "AKIAALICE", "alice-secret", "eu-west-1").CreateEventBus(ctx,
		&eventbridge.CreateEventBusInput{Name: aws.String("alice-eu")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsIn(in, "AKIABOB", "bob-secret", "us-east-1").CreateEventBus(ctx,
		&eventbridge.CreateEventBusInput{Name: aws.String("bob-us")}); err != nil {
		t.Fatal(err)
	}
	created := func(c *cloudtrail.Client) []string {
		out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateEventBus")}}})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range out.Events {
			for _, r := range e.Resources {
				names = append(names, aws.ToString(r.ResourceName))
			}
		}
		return names
	}
	// Records are stored before their call answers; the history indexes them a moment later.
	for _, w := range []struct {
		c    *cloudtrail.Client
		name string
	}{{trail("AKIAALICE", "alice-secret", "eu-west-1"), "alice-eu"}, {trail("AKIABOB", "bob-secret", "us-east-1"), "bob-us"}} {
		waitfor.True(t, "the history to show "+w.name, func() bool { return slices.Contains(created(w.c), w.name) })
	}
	for _, c := range []struct {
		name   string
		client *cloudtrail.Client
		sees   string
	}{
		{"alice us-east-1", trail("AKIAALICE", "alice-secret", "us-east-1"), ""},
		{"alice eu-west-1", trail("AKIAALICE", "alice-secret", "eu-west-1"), "alice-eu"},
		{"bob us-east-1", trail("AKIABOB", "bob-secret", "us-east-1"), "bob-us"},
	} {
		got := slices.DeleteFunc(created(c.client), func(s string) bool { return s != "alice-eu" && s != "bob-us" })
		var want []string
		if c.sees != "" {
			want = []string{c.sees}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s's history names %v, want %v", c.name, got, want)
		}
	}
}

// A bus's resource policy lets another account put events on it, directly and from that
// account's rules; without it, or once removed, the other account is refused.
func TestBusPolicy(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	alice := eventsIn(in, "AKIAALICE", "alice-secret", "us-east-1")
	bob := eventsIn(in, "AKIABOB", "bob-secret", "us-east-1")
	if _, err := alice.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	ordersARN := "arn:aws:events:us-east-1:" + aliceAccount + ":event-bus/orders"
	s := newSink(t)
	dest := servertest.APIDestination(t, alice, "hook", s.srv.URL)
	putRule(t, alice, "orders", "all", `{"source":["shop"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})

	put := func(detail string) types.PutEventsResultEntry {
		t.Helper()
		out, err := bob.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String(ordersARN), Source: aws.String("shop"), DetailType: aws.String("order"), Detail: aws.String(detail)}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Entries[0]
	}
	denied := func(e types.PutEventsResultEntry) bool {
		return aws.ToString(e.ErrorCode) == "AccessDeniedException" &&
			strings.Contains(aws.ToString(e.ErrorMessage), "is not authorized to perform: events:PutEvents on resource: "+ordersARN)
	}
	if e := put(`{"n":1}`); !denied(e) {
		t.Errorf("without a policy: %+v", e)
	}
	if _, err := alice.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("orders"),
		Action: aws.String("events:PutEvents"), Principal: aws.String(bobAccount), StatementId: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	desc, err := alice.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + bobAccount +
		`:root"},"Action":"events:PutEvents","Resource":"` + ordersARN + `"}]}`
	if err != nil || aws.ToString(desc.Policy) != want {
		t.Errorf("policy %s, %v\nwant   %s", aws.ToString(desc.Policy), err, want)
	}
	if e := put(`{"n":2}`); e.EventId == nil {
		t.Fatalf("with the policy: %+v", e)
	}
	bodies := s.wait(t, 1)
	var ev struct {
		Account string
		Detail  struct{ N int }
	}
	if err := json.Unmarshal(bodies[0], &ev); err != nil || ev.Account != bobAccount || ev.Detail.N != 2 {
		t.Errorf("alice's target got %s", bodies[0])
	}

	// A rule of bob's sends to alice's bus.
	if _, err := bob.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("forward"), EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("forward"),
		Targets: []types.Target{{Id: aws.String("alice"), Arn: aws.String(ordersARN)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("order"), Detail: aws.String(`{"n":3}`)}}}); err != nil {
		t.Fatal(err)
	}
	bodies = s.wait(t, 2)
	if err := json.Unmarshal(bodies[1], &ev); err != nil || ev.Detail.N != 3 {
		t.Errorf("alice's target got %s from bob's rule", bodies[1])
	}

	var ae smithy.APIError
	_, err = alice.RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String("orders"), StatementId: aws.String("nobody")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("removing a statement that is not there: %v", err)
	}
	if _, err := alice.RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String("orders"), StatementId: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	if e := put(`{"n":4}`); !denied(e) {
		t.Errorf("after RemovePermission: %+v", e)
	}
	desc, _ = alice.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	if desc.Policy != nil {
		t.Errorf("policy after its last statement went: %s", aws.ToString(desc.Policy))
	}
	// Bob cannot change alice's policy: PutPermission names a bus of the caller's.
	_, err = bob.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("orders"),
		Action: aws.String("events:PutEvents"), Principal: aws.String("*"), StatementId: aws.String("all")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("bob puts a permission on alice's bus: %v", err)
	}
}

// A queue's policy (AddPermission, or the Policy attribute) lets another account do what it
// names, and nothing else.
func TestQueuePolicy(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	client := func(key, secret string) *sqs.Client {
		return sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	}
	alice, bob := client("AKIAALICE", "alice-secret"), client("AKIABOB", "bob-secret")
	q, err := alice.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	send := func() error {
		_, err := bob.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("from bob")})
		return err
	}
	var ae smithy.APIError
	if err := send(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("without a policy: %v", err)
	}
	if _, err := alice.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: q.QueueUrl, Label: aws.String("bob-sends"),
		AWSAccountIds: []string{bobAccount}, Actions: []string{"SendMessage"}}); err != nil {
		t.Fatal(err)
	}
	if err := send(); err != nil {
		t.Errorf("with AddPermission: %v", err)
	}
	if _, err := bob.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl}); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("bob receives without the right: %v", err)
	}
	got, err := alice.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
	if err != nil || len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "from bob" {
		t.Errorf("alice receives %+v %v", got, err)
	}
	_, err = alice.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: q.QueueUrl, Label: aws.String("bob-sends"),
		AWSAccountIds: []string{bobAccount}, Actions: []string{"SendMessage"}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("the same label twice: %v", err)
	}
	if _, err := alice.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: q.QueueUrl, Label: aws.String("bob-sends")}); err != nil {
		t.Fatal(err)
	}
	if err := send(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("after RemovePermission: %v", err)
	}
	// The Policy attribute, set whole.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + bobAccount + `"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:` + aliceAccount + `:jobs"}]}`
	if _, err := alice.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"Policy": doc}}); err != nil {
		t.Fatal(err)
	}
	if err := send(); err != nil {
		t.Errorf("with the Policy attribute: %v", err)
	}
	if _, err := alice.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"Policy": `{"Statement":"x"}`}}); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidAttributeValue" {
		t.Errorf("a policy that is not one: %v", err)
	}
}

// A rule's dead letters go to a queue of another account only when the queue's policy lets
// the events service send for the rule.
func TestCrossAccountDeadLetters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	doc := `{"accessKeys":[
	  {"accessKeyId":"AKIAALICE","secretAccessKey":"alice-secret","accountId":"` + aliceAccount + `","userName":"alice"},
	  {"accessKeyId":"AKIABOB","secretAccessKey":"bob-secret","accountId":"` + bobAccount + `","userName":"bob"}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t, func(c *server.Config) { c.AuthFile, c.RetryBackoff = path, 10*time.Millisecond })
	ctx := context.Background()
	aliceQ := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAALICE", "alice-secret", "")})
	bob := eventsIn(in, "AKIABOB", "bob-secret", "us-east-1")
	q, err := aliceQ.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dead")})
	if err != nil {
		t.Fatal(err)
	}
	dlq := "arn:aws:sqs:us-east-1:" + aliceAccount + ":dead"
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) }))
	t.Cleanup(failing.Close)
	dest := servertest.APIDestination(t, bob, "hook", failing.URL)
	putRule(t, bob, "", "r", `{"source":["shop"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}, DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
	ruleARN := "arn:aws:events:us-east-1:" + bobAccount + ":rule/r"
	put := func(n int) {
		if _, err := bob.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("shop"), DetailType: aws.String("order"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}}); err != nil {
			t.Fatal(err)
		}
	}
	put(1)
	waitfor.True(t, "the queue of another account to refuse the dead letter", func() bool {
		return in.Counter(t, "conveyor_invocations_failed_to_be_sent_to_dlq_total") >= 1
	})
	policyDoc := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + dlq +
		`","Condition":{"ArnEquals":{"aws:SourceArn":"` + ruleARN + `"}}}]}`
	if _, err := aliceQ.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"Policy": policyDoc}}); err != nil {
		t.Fatal(err)
	}
	put(2)
	got, err := aliceQ.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 10})
	if err != nil || len(got.Messages) != 1 || !strings.Contains(aws.ToString(got.Messages[0].Body), `"n":2`) {
		t.Errorf("alice's dead-letter queue got %+v %v", got, err)
	}
}

// A call refused for a wrong secret is in the history of the account whose key it named, and
// no other: the key's owner sees the attempt.
func TestRefusedCallInKeyOwnersHistory(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	if _, err := eventsIn(in, "AKIABOB", "guessed", "us-east-1").CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("x")}); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	refused := func(key, secret string) int {
		c := cloudtrail.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
		out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateEventBus")}}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range out.Events {
			if strings.Contains(aws.ToString(e.CloudTrailEvent), `"errorCode":"InvalidSignatureException"`) {
				n++
			}
		}
		return n
	}
	waitfor.True(t, "bob's history to show the refused call made with his key", func() bool { return refused("AKIABOB", "bob-secret") > 0 })
	if n := refused("AKIAALICE", "alice-secret"); n != 0 {
		t.Errorf("alice's history shows %d refused calls made with bob's key", n)
	}
}

// Archives and replays live in their account: two accounts' archives of one name are two,
// each holds its own events, and a replay in one account replays only its events to its rules.
func TestArchivesPerAccount(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	alice := eventsIn(in, "AKIAALICE", "alice-secret", "us-east-1")
	bob := eventsIn(in, "AKIABOB", "bob-secret", "us-east-1")
	start := time.Now().Add(-time.Minute)
	for _, c := range []struct {
		name    string
		client  *eventbridge.Client
		account string
		events  int
	}{{"alice", alice, aliceAccount, 1}, {"bob", bob, bobAccount, 2}} {
		out, err := c.client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"),
			EventSourceArn: aws.String("arn:aws:events:us-east-1:" + c.account + ":event-bus/default"),
			EventPattern:   aws.String(`{"source":["shop"]}`)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := "arn:aws:events:us-east-1:" + c.account + ":archive/all"; aws.ToString(out.ArchiveArn) != want {
			t.Errorf("%s's archive %s, want %s", c.name, aws.ToString(out.ArchiveArn), want)
		}
		for n := range c.events {
			if _, err := c.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
				Source: aws.String("shop"), DetailType: aws.String("order"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(c *eventbridge.Client) int64 {
		out, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})
		if err != nil {
			t.Fatal(err)
		}
		return out.EventCount
	}
	waitfor.Err(t, waitfor.Timeout, "alice's and bob's archived events", func() error {
		if a, b := count(alice), count(bob); a != 1 || b != 2 {
			return fmt.Errorf("archives hold %d and %d events, want 1 and 2", a, b)
		}
		return nil
	})
	list, err := alice.ListArchives(ctx, &eventbridge.ListArchivesInput{})
	if err != nil || len(list.Archives) != 1 {
		t.Errorf("alice lists %+v %v", list, err)
	}
	// Bob replays his archive to a rule of his.
	s := newSink(t)
	dest := servertest.APIDestination(t, bob, "hook", s.srv.URL)
	putRule(t, bob, "", "replayed", `{"replay-name":["again"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	if _, err := bob.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("again"),
		EventSourceArn: aws.String("arn:aws:events:us-east-1:" + bobAccount + ":archive/all"),
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now()),
		Destination: &types.ReplayDestination{Arn: aws.String("arn:aws:events:us-east-1:" + bobAccount + ":event-bus/default")}}); err != nil {
		t.Fatal(err)
	}
	if bodies := s.wait(t, 2); len(bodies) != 2 {
		t.Errorf("bob's replay delivered %d events", len(bodies))
	}
	var ae smithy.APIError
	if _, err := alice.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("again")}); !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("alice describes bob's replay: %v", err)
	}
}
