package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// rawCall posts body to the instance as the EventBridge operation op, signed by the test key
// in form only (the server checks no signature by default), and returns the status and body.
func rawCall(t *testing.T, in *servertest.Instance, op, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+servertest.AccessKeyID+
		"/20260101/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-target, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// history returns the records of the event history named eventName, waiting until there are
// at least n.
func history(t *testing.T, in *servertest.Instance, eventName string, n int) []string {
	t.Helper()
	var events []cttypes.Event
	waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("%d %s records", n, eventName), func() error {
		out, err := in.CloudTrail.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(eventName)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if events = out.Events; len(events) < n {
			return fmt.Errorf("the event history has %d", len(events))
		}
		return nil
	})
	var recs []string
	for _, e := range events {
		recs = append(recs, aws.ToString(e.CloudTrailEvent))
	}
	return recs
}

// TestOversizedCallsRefusedAndRecorded (issue 11, item 3): a management call padded past its
// bound is refused with 413 RequestEntityTooLargeException before it runs (the rule is still
// there, the bus not created) and the refusal is recorded; a legal call with a parameter too
// large for a record is recorded with requestParameters {"omitted":true}, in the history and on
// the bus; and shutdown after such calls is quick.
func TestOversizedCallsRefusedAndRecorded(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	calls := newSink(t)
	dest := servertest.APIDestination(t, in.Events, "calls", calls.srv.URL)
	putRule(t, in.Events, "", "put-targets-calls",
		`{"source":["aws.events"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["PutTargets"]}}`,
		types.Target{Id: aws.String("c"), Arn: aws.String(dest)})
	putRule(t, in.Events, "", "keep", `{"source":["app"]}`)

	pad := strings.Repeat("x", 1_200_000)
	for _, c := range []struct{ op, body string }{
		{"DeleteRule", `{"Name":"keep","Pad":"` + pad + `"}`},
		{"CreateEventBus", `{"Name":"padded","Description":"` + pad[:300_000] + `"}`},
	} {
		status, body := rawCall(t, in, c.op, c.body)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"__type":"RequestEntityTooLargeException"`) {
			t.Errorf("%s of %d bytes: %d %s", c.op, len(c.body), status, body)
		}
	}
	if _, err := in.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("keep")}); err != nil {
		t.Errorf("the refused DeleteRule took effect: %v", err)
	}
	var nf *types.ResourceNotFoundException
	if _, err := in.Events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("padded")}); !errors.As(err, &nf) {
		t.Errorf("the refused CreateEventBus: DescribeEventBus says %v", err)
	}
	for _, op := range []string{"DeleteRule", "CreateEventBus"} {
		rec := history(t, in, op, 1)[0]
		if !strings.Contains(rec, `"errorCode":"RequestEntityTooLargeException"`) || !strings.Contains(rec, `"requestParameters":null`) {
			t.Errorf("%s record: %s", op, rec)
		}
	}

	// Five targets (a rule's most) with input transformers of 100 paths and 8,000-character
	// templates: a legal call, over 200 KB as parameters.
	paths := map[string]string{}
	for i := range 100 {
		paths[fmt.Sprintf("%060d", i)] = "$.detail." + strings.Repeat("p", 190)
	}
	var targets []types.Target
	for i := range 5 {
		targets = append(targets, types.Target{Id: aws.String(string(rune('a' + i))), Arn: aws.String(dest),
			InputTransformer: &types.InputTransformer{InputPathsMap: paths, InputTemplate: aws.String(`"` + strings.Repeat("é", 7990) + `"`)}})
	}
	out, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("keep"), Targets: targets})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	found := false
	for _, rec := range history(t, in, "PutTargets", 2) {
		if strings.Contains(rec, `"requestParameters":{"omitted":true}`) && strings.Contains(rec, `"failedEntryCount":0`) {
			found = true
		}
	}
	if !found {
		t.Error("no PutTargets record with requestParameters omitted in the history")
	}
	// The rule's calls include the PutTargets that set it up; wait for the large one.
	for n, found := 1, false; !found; n++ {
		for _, b := range calls.wait(t, n) {
			var ev struct {
				Detail struct {
					RequestParameters json.RawMessage `json:"requestParameters"`
				} `json:"detail"`
			}
			found = found || json.Unmarshal(b, &ev) == nil && string(ev.Detail.RequestParameters) == `{"omitted":true}`
		}
	}

	start := time.Now()
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

// TestFoldedSecretNames (issue 11, item 4): secret members spelled so that they fold onto the
// real ones (other case, U+017F for s, U+212A for k) are not those members: the connection
// uses the real secrets, and neither spelling reaches the event history or the bus.
func TestFoldedSecretNames(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	calls, deliveries := newSink(t), newSink(t)
	dest := servertest.APIDestination(t, in.Events, "calls", calls.srv.URL)
	putRule(t, in.Events, "", "connection-calls",
		`{"source":["aws.events"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["CreateConnection","UpdateConnection"],"requestParameters":{"name":["folded-basic","folded-key"]}}}`,
		types.Target{Id: aws.String("c"), Arn: aws.String(dest)})

	for _, c := range []struct{ op, body string }{
		{"CreateConnection", `{"Name":"folded-basic","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"good-pass","Paſsword":"leak-basic"}}}`},
		{"CreateConnection", `{"Name":"folded-key","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"good-key","APIKEYVALUE":"leak-key"},` +
			`"InvocationHttpParameters":{"HeaderParameters":[{"Key":"x-extra","Value":"good-extra","IsValueSecret":true,"VALUE":"leak-extra"}]}}}`},
		{"UpdateConnection", `{"Name":"folded-key","AuthParameters":{"ApiKeyAuthParameters":{"Api\u212AeyValue":"leak-update"}}}`},
	} {
		if status, body := rawCall(t, in, c.op, c.body); status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.op, status, body)
		}
	}
	for _, name := range []string{"folded-basic", "folded-key"} {
		conn, err := in.Events.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := in.Events.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(name),
			ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(deliveries.srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
		if err != nil {
			t.Fatal(err)
		}
		putRule(t, in.Events, "", name, `{"source":["folded"]}`, types.Target{Id: aws.String("d"), Arn: d.ApiDestinationArn})
	}
	putEvent(t, in.Events, "", "folded", `{}`)
	deliveries.wait(t, 2)
	deliveries.mu.Lock()
	heads := deliveries.heads
	deliveries.mu.Unlock()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:good-pass"))
	var sawBasic, sawKey bool
	for _, h := range heads {
		switch {
		case h.Get("Authorization") != "":
			sawBasic = h.Get("Authorization") == basic
		case h.Get("X-Api-Key") != "":
			sawKey = h.Get("X-Api-Key") == "good-key" && h.Get("X-Extra") == "good-extra"
		}
		for k, v := range h {
			if strings.Contains(strings.Join(v, ","), "leak-") {
				t.Errorf("a folded member's secret was used: %s: %s", k, v)
			}
		}
	}
	if !sawBasic || !sawKey {
		t.Errorf("deliveries did not use the real secrets: %v", heads)
	}

	var recs []string
	recs = append(recs, history(t, in, "CreateConnection", 3)...) // with the destination's own
	recs = append(recs, history(t, in, "UpdateConnection", 1)...)
	bus := calls.wait(t, 3)
	for _, b := range bus {
		recs = append(recs, string(b))
	}
	for _, rec := range recs {
		if strings.Contains(rec, "leak-") || strings.Contains(rec, "good-") {
			t.Errorf("a secret is in a record: %s", rec)
		}
	}
}
