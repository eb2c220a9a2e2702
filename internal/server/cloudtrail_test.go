package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestAPICallsReachRules is DESIGN.md's second example, with an EventBridge
// call for the S3 one: the API call is recorded, its record reaches the bus,
// a rule on "AWS API Call via CloudTrail" fires, and the call shows in the
// event history. Read-only calls reach only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
func TestAPICallsReachRules(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	writes, reads := newSink(t), newSink(t)
	wdest := servertest.APIDestination(t, in.Events, "writes", writes.srv.URL)
	rdest := servertest.APIDestination(t, in.Events, "reads", reads.srv.URL)
	putRule(t, in.Events, "", "bus-created",
		`{"source":["aws.events"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["events.amazonaws.com"],"eventName":["CreateEventBus","DescribeEventBus"]}}`,
		types.Target{Id: aws.String("w"), Arn: aws.String(wdest)})
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String("all-reads"),
		EventPattern: aws.String(`{"source":["aws.events"],"detail":{"eventName":["DescribeEventBus"]}}`),
		State:        types.RuleStateEnabledWithAllCloudtrailManagementEvents,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all-reads"), Targets: []types.Target{{Id: aws.String("r"), Arn: aws.String(rdest)}}}); err != nil {
		t.Fatal(err)
	}

	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	body := writes.wait(t, 1)[0]
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			EventName         string `json:"eventName"`
			EventSource       string `json:"eventSource"`
			ReadOnly          bool   `json:"readOnly"`
			RequestParameters struct {
				Name string `json:"name"`
			} `json:"requestParameters"`
			UserIdentity struct {
				AccessKeyID string `json:"accessKeyId"`
			} `json:"userIdentity"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.events" || ev.DetailType != "AWS API Call via CloudTrail" || ev.Detail.EventName != "CreateEventBus" ||
		ev.Detail.RequestParameters.Name != "audited" || ev.Detail.UserIdentity.AccessKeyID != servertest.AccessKeyID || ev.Detail.ReadOnly {
		t.Errorf("rule got %s", body)
	}

	// A read-only call: only the ENABLED_WITH_ALL… rule gets it.
	if _, err := in.Events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	rb := reads.wait(t, 1)[0]
	if !strings.Contains(string(rb), `"eventName":"DescribeEventBus"`) {
		t.Errorf("read rule got %s", rb)
	}
	// The write rule names DescribeEventBus too but is ENABLED: a second
	// write shows it got nothing in between.
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("audited-2")}); err != nil {
		t.Fatal(err)
	}
	wb := writes.wait(t, 2)
	if len(wb) != 2 || !strings.Contains(string(wb[1]), `"audited-2"`) {
		t.Errorf("write rule got %d events, the second %s; want CreateEventBus twice, no DescribeEventBus", len(wb), wb[len(wb)-1])
	}

	// The event history has the call.
	var found *cttypes.Event
	waitfor.True(t, "LookupEvents to show the CreateEventBus call", func() bool {
		out, err := in.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateEventBus")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range out.Events {
			if strings.Contains(aws.ToString(out.Events[i].CloudTrailEvent), `"audited"`) {
				found = &out.Events[i]
			}
		}
		return found != nil
	})
	if aws.ToString(found.EventSource) != "events.amazonaws.com" || aws.ToString(found.AccessKeyId) != servertest.AccessKeyID {
		t.Errorf("history entry %+v", found)
	}
}
