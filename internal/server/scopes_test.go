package server_test

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
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
	return eventbridge.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), RetryMaxAttempts: 1,
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
		return sqs.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), RetryMaxAttempts: 1,
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
	if !errors.As(err, &ae) || ae.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" && ae.ErrorCode() != "QueueDoesNotExist" {
		t.Errorf("bob sends to alice's queue: %v", err)
	}
}

// Each account and region has its own event history: a call is in the history of the
// account and region it was made in, and no other.
func TestHistoryPerAccount(t *testing.T) {
	in := twoAccounts(t)
	ctx := context.Background()
	trail := func(key, secret, region string) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(in.URL), RetryMaxAttempts: 1,
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
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Contains(created(w.c), w.name) {
			if time.Now().After(deadline) {
				t.Fatalf("the history never shows %s", w.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
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
