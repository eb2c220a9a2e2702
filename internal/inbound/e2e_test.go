package inbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/inbound"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// queueRule creates an SQS queue and a rule on bus that sends every event
// (CloudTrail's records of the API calls, "AWS API Call via CloudTrail", are on the
// default bus too: the catch-all rules leave them out)
// matching pattern to it; it returns the queue's URL.
func queueRule(t *testing.T, in *servertest.Instance, bus, name, pattern string) string {
	t.Helper()
	ctx := context.Background()
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attrs, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	out, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Targets: []types.Target{{
		Id: aws.String("q"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	return aws.ToString(q.QueueUrl)
}

// drain receives messages until none comes for quiet, and returns their
// bodies.
func drain(t *testing.T, in *servertest.Instance, url string, want int, quiet time.Duration) []string {
	t.Helper()
	var bodies []string
	lastGot := time.Now()
	waitfor.Err(t, 20*time.Second, fmt.Sprintf("%d messages, then none for %v", want, quiet), func() error {
		out, err := in.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			lastGot = time.Now()
			if _, err := in.SQS.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		if len(bodies) < want || time.Since(lastGot) <= quiet {
			return fmt.Errorf("the queue got %d", len(bodies))
		}
		return nil
	})
	return bodies
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, url, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", resp.StatusCode, b, err)
	}
	return a
}

const ec2Event = `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification",` +
	`"source":"aws.ec2","account":"123456789012","time":"2026-11-26T10:20:30Z","region":"eu-west-1",` +
	`"resources":["arn:aws:ec2:eu-west-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-abcd1111","state":"stopped"}}`

func TestInboundDisabled(t *testing.T) {
	in := servertest.Start(t)
	url := queueRule(t, in, "default", "all", `{"detail-type":[{"anything-but":"AWS API Call via CloudTrail"}]}`)
	for _, path := range []string{"/inbound/default", "/inbound/s3/default"} {
		a := post(t, in.URL+path, ec2Event, map[string]string{"x-api-key": "anything"})
		if a.status != http.StatusForbidden || a.body["__type"] != "AccessDeniedException" ||
			!strings.Contains(a.body["message"].(string), "--inbound-key") {
			t.Errorf("%s with inbound disabled: %d %v", path, a.status, a.body)
		}
	}
	// A marker through PutEvents is the only message.
	if _, err := in.Events.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("marker"), DetailType: aws.String("m"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, in, url, 1, 300*time.Millisecond); len(got) != 1 || !strings.Contains(got[0], `"marker"`) {
		t.Errorf("queue got %q, want only the marker", got)
	}
}

func TestInboundEvents(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) {
		c.Inbound = []inbound.Credential{
			{Header: "X-Api-Key", Value: "s3cr3t"},
			{Bus: "orders", Header: "X-Orders-Key", Value: "only-orders"},
			{Username: "alice", Password: "pa:ss"},
		}
	})
	ctx := context.Background()
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	ec2URL := queueRule(t, in, "default", "ec2",
		`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped","terminated"]}}`)
	allURL := queueRule(t, in, "default", "all", `{"detail-type":[{"anything-but":"AWS API Call via CloudTrail"}]}`)
	ordersURL := queueRule(t, in, "orders", "all-orders", `{"detail-type":[{"anything-but":"AWS API Call via CloudTrail"}]}`)
	key := map[string]string{"x-api-key": "s3cr3t"}

	bad := []struct {
		name   string
		path   string
		body   string
		hdr    map[string]string
		status int
		typ    string
	}{
		{"no credentials", "/inbound/default", ec2Event, nil, 401, "UnauthorizedException"},
		{"wrong key", "/inbound/default", ec2Event, map[string]string{"x-api-key": "guess"}, 403, "AccessDeniedException"},
		{"wrong password", "/inbound/default", ec2Event, map[string]string{"Authorization": "Basic YWxpY2U6d3Jvbmc="}, 403, "AccessDeniedException"},
		{"key of another bus", "/inbound/default", ec2Event, map[string]string{"x-orders-key": "only-orders"}, 403, "AccessDeniedException"},
		{"unknown bus", "/inbound/nope", ec2Event, key, 404, "ResourceNotFoundException"},
		{"bad bus name", "/inbound/no%20pe", ec2Event, key, 404, "ResourceNotFoundException"},
		{"not JSON", "/inbound/default", `source=aws.ec2`, key, 400, "ValidationException"},
		{"not an event", "/inbound/default", `{"hello":"world"}`, key, 400, "ValidationException"},
		{"bad detail", "/inbound/default", `{"source":"a","detail-type":"b","detail":"c"}`, key, 400, "ValidationException"},
		{"too large", "/inbound/default", `{"source":"a","detail-type":"b","detail":{"x":"` + strings.Repeat("y", 2<<20) + `"}}`, key, 413, "RequestEntityTooLargeException"},
		{"S3 not a notification", "/inbound/s3/default", ec2Event, key, 400, "ValidationException"},
	}
	for _, tt := range bad {
		a := post(t, in.URL+tt.path, tt.body, tt.hdr)
		if a.status != tt.status || a.body["__type"] != tt.typ || a.body["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tt.name, a.status, a.body, tt.status, tt.typ)
		}
		if tt.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, a.header.Get("WWW-Authenticate"))
		}
	}

	// The EC2 event, by API key: stored as AWS sent it, and routed.
	a := post(t, in.URL+"/inbound/default", ec2Event, key)
	if a.status != 200 || a.body["FailedEntryCount"] != 0.0 {
		t.Fatalf("good event: %d %v", a.status, a.body)
	}
	if e := a.body["Entries"].([]any); len(e) != 1 || e[0].(map[string]any)["EventId"] != "7bf73129-1428-4cd3-a780-95db273d1602" {
		t.Errorf("answer entries %v, want the event's own id", e)
	}
	// Sent again (an API destination's retry): stored once. Then another
	// event by basic auth, with a pending state the EC2 rule ignores.
	post(t, in.URL+"/inbound/default", ec2Event, key)
	pending := strings.Replace(strings.Replace(ec2Event, "stopped", "pending", 1), "7bf73129", "8bf73129", 1)
	if a := post(t, in.URL+"/inbound/default", pending, map[string]string{"Authorization": "Basic YWxpY2U6cGE6c3M="}); a.status != 200 {
		t.Fatalf("basic auth: %d %v", a.status, a.body)
	}
	got := drain(t, in, ec2URL, 1, 300*time.Millisecond)
	if len(got) != 1 || got[0] != ec2Event {
		t.Errorf("EC2 rule's queue got %q, want exactly the event as sent", got)
	}
	if all := drain(t, in, allURL, 2, 300*time.Millisecond); len(all) != 2 {
		t.Errorf("catch-all queue got %d events, want 2 (stopped once, pending)", len(all))
	}

	// A bus-scoped key works on its bus.
	if a := post(t, in.URL+"/inbound/orders", `{"source":"shop","detail-type":"Order Placed","detail":{"id":1}}`,
		map[string]string{"x-orders-key": "only-orders"}); a.status != 200 {
		t.Fatalf("orders key: %d %v", a.status, a.body)
	}
	orders := drain(t, in, ordersURL, 1, 300*time.Millisecond)
	var ev map[string]any
	if len(orders) != 1 || json.Unmarshal([]byte(orders[0]), &ev) != nil || ev["source"] != "shop" ||
		ev["account"] != in.Config.Account || ev["region"] != in.Config.Region {
		t.Errorf("orders queue got %q", orders)
	}

	// An S3 notification from MinIO.
	minio, err := os.ReadFile("testdata/s3/minio-put.json")
	if err != nil {
		t.Fatal(err)
	}
	s3URL := queueRule(t, in, "default", "s3", `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["images"]}}}`)
	a = post(t, in.URL+"/inbound/s3/default", string(minio), key)
	if a.status != 200 || len(a.body["Entries"].([]any)) != 1 {
		t.Fatalf("S3 notification: %d %v", a.status, a.body)
	}
	post(t, in.URL+"/inbound/s3/default", string(minio), key) // MinIO retried: stored once
	test, _ := os.ReadFile("testdata/s3/test-event.json")
	if a := post(t, in.URL+"/inbound/s3/default", string(test), key); a.status != 200 || len(a.body["Entries"].([]any)) != 0 {
		t.Errorf("s3:TestEvent: %d %v", a.status, a.body)
	}
	s3 := drain(t, in, s3URL, 1, 300*time.Millisecond)
	if len(s3) != 1 || json.Unmarshal([]byte(s3[0]), &ev) != nil || ev["source"] != "aws.s3" ||
		ev["detail"].(map[string]any)["object"].(map[string]any)["key"] != "my photo.jpg" {
		t.Errorf("S3 rule's queue got %q", s3)
	}
	if n := len(drain(t, in, allURL, 1, 300*time.Millisecond)); n != 1 {
		t.Errorf("catch-all queue got %d more events, want 1 (the S3 event)", n)
	}
}
