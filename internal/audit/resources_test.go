package audit

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

func TestResourcesOf(t *testing.T) {
	const r, a = "us-east-1", "123456789012"
	for _, c := range []struct {
		svc, op   string
		req, resp string
		want      []Resource
	}{
		{"events", "PutRule", `{"Name":"x","EventBusName":"shop"}`, ``, []Resource{{TypeRule, "arn:aws:events:us-east-1:123456789012:rule/shop/x"}}},
		{"events", "PutRule", `{"Name":"x","EventBusName":"arn:aws:events:us-east-1:123456789012:event-bus/shop"}`, ``,
			[]Resource{{TypeRule, "arn:aws:events:us-east-1:123456789012:rule/shop/x"}}},
		{"events", "EnableRule", `{"Name":"x","EventBusName":"default"}`, ``, []Resource{{TypeRule, "arn:aws:events:us-east-1:123456789012:rule/x"}}},
		{"lambda", "GetFunction", `{"FunctionName":"f1"}`, ``, []Resource{{TypeFunction, "arn:aws:lambda:us-east-1:123456789012:function:f1"}}},
		{"lambda", "Invoke", `{"FunctionName":"f1:$LATEST","InvocationType":"Event"}`, ``, []Resource{{TypeFunction, "arn:aws:lambda:us-east-1:123456789012:function:f1"}}},
		{"lambda", "DeleteFunction", `{"FunctionName":"123456789012:function:f1"}`, ``, []Resource{{TypeFunction, "arn:aws:lambda:us-east-1:123456789012:function:f1"}}},
		{"lambda", "DeleteFunction", `{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:f1:7"}`, ``,
			[]Resource{{TypeFunction, "arn:aws:lambda:us-east-1:123456789012:function:f1"}}},
		{"lambda", "CreateFunction", `{"FunctionName":"f2","Role":"r"}`, `{"FunctionName":"f2","FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f2"}`,
			[]Resource{{TypeFunction, "arn:aws:lambda:us-east-1:123456789012:function:f2"}}},
		{"lambda", "ListFunctions", `{}`, `{"Functions":[{"FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f2"}]}`, nil},
		{"events", "RemoveTargets", `{"Rule":"x","Ids":["1"]}`, ``, []Resource{{TypeRule, "arn:aws:events:us-east-1:123456789012:rule/x"}}},
		{"events", "DescribeEventBus", `{}`, ``, []Resource{{TypeEventBus, "arn:aws:events:us-east-1:123456789012:event-bus/default"}}},
		{"events", "CreateEventBus", `{"Name":"shop"}`, `{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/shop"}`,
			[]Resource{{TypeEventBus, "arn:aws:events:us-east-1:123456789012:event-bus/shop"}}},
		{"events", "DeleteConnection", `{"Name":"c"}`, ``, []Resource{{TypeConnection, "arn:aws:events:us-east-1:123456789012:connection/c"}}},
		{"events", "CreateApiDestination", `{"Name":"d"}`, `{"ApiDestinationArn":"arn:aws:events:us-east-1:123456789012:api-destination/d/u"}`,
			[]Resource{{TypeAPIDestination, "arn:aws:events:us-east-1:123456789012:api-destination/d/u"}}},
		{"events", "CreateArchive", `{"ArchiveName":"ar","EventSourceArn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}`, ``,
			[]Resource{{TypeArchive, "arn:aws:events:us-east-1:123456789012:archive/ar"}, {TypeEventBus, "arn:aws:events:us-east-1:123456789012:event-bus/default"}}},
		{"events", "StartReplay", `{"ReplayName":"rp"}`, ``, []Resource{{TypeReplay, "arn:aws:events:us-east-1:123456789012:replay/rp"}}},
		{"events", "ListTagsForResource", `{"ResourceARN":"arn:aws:events:us-east-1:123456789012:rule/x"}`, ``, []Resource{{TypeRule, "arn:aws:events:us-east-1:123456789012:rule/x"}}},
		{"events", "TagResource", `{"ResourceARN":"not an arn"}`, ``, nil},
		{"events", "ListEventBuses", `{}`, ``, nil},
		{"events", "PutRule", `{"Name":`, ``, nil},
		{"sqs", "DeleteQueue", `{"QueueUrl":"http://localhost:4010/000000000000/jobs"}`, ``, []Resource{{TypeQueue, "arn:aws:sqs:us-east-1:000000000000:jobs"}}},
		{"sqs", "GetQueueUrl", `{"QueueName":"jobs"}`, ``, []Resource{{TypeQueue, "arn:aws:sqs:us-east-1:123456789012:jobs"}}},
		{"sqs", "ListQueues", `{}`, ``, nil},
		{"cloudtrail", "LookupEvents", `{}`, ``, nil},
	} {
		in := requestMembers([]byte(c.req), false)
		out := responseMembers([]byte(c.resp), false)
		got := resourcesOf(c.svc, c.op, r, a, &in, &out)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s %s: %v, want %v", c.svc, c.op, c.req, got, c.want)
		}
	}
}

func TestResourceName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:events:us-east-1:123456789012:rule/x":                                "x",
		"arn:aws:events:us-east-1:123456789012:rule/shop/x":                           "x",
		"arn:aws:events:us-east-1:123456789012:event-bus/shop":                        "shop",
		"arn:aws:events:us-east-1:123456789012:connection/c/uuid":                     "c",
		"arn:aws:events:us-east-1:123456789012:api-destination/d/uuid":                "d",
		"arn:aws:sqs:us-east-1:123456789012:jobs":                                     "jobs",
		"arn:aws:s3:::bucket":                                                         "bucket",
		"arn:aws:s3:::bucket/a/key.json":                                              "bucket/a/key.json",
		"arn:aws:sns:us-east-1:123456789012:alerts":                                   "alerts",
		"arn:aws:ec2:eu-west-1:123456789012:instance/i-0c53454b1dd1e49b":              "i-0c53454b1dd1e49b",
		"arn:aws:lambda:us-east-1:123456789012:function:orders":                       "orders",
		"arn:aws:lambda:us-east-1:123456789012:function:orders:live":                  "orders",
		"arn:aws:iam::123456789012:role/service-role/deploy":                          "deploy",
		"arn:aws:iam::123456789012:user/alice":                                        "alice",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*":               "/aws/lambda/x",
		"arn:aws:kms:eu-west-1:123456789012:key/4a3d3a60-3b3c-44bf-af01-48fc48528fe0": "4a3d3a60-3b3c-44bf-af01-48fc48528fe0",
		"arn:aws:dynamodb:us-east-1:123456789012:table/Orders":                        "Orders",
		"arn:aws:ec2:eu-west-1:123456789012:instance/":                                "instance/",
		"not an arn": "not an arn",
	} {
		if got := ResourceName(arn); got != want {
			t.Errorf("ResourceName(%s) = %q, want %q", arn, got, want)
		}
	}
}

// FuzzMemberScan: members.scan fills what the decoders fill.
func FuzzMemberScan(f *testing.F) {
	f.Add([]byte(`{"Name":"r","EventBusName":"b","name":"x","Rule":5,"Arn":null}`), true)
	f.Add([]byte(`{"RULEARN":"a","RuleArn":"b","ruleArn":"c","Entries":[]}`), false)
	f.Add([]byte(`{"Name":"a\u00e9\"","QueueUrl":"\xff"} x`), true)
	f.Add([]byte(`{"Entries":[{"EventBusName":"b"}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, exact bool) {
		var got, want members
		if !got.scan(body, exact, false) {
			return
		}
		if exact {
			_ = awsapi.Unmarshal(body, &want)
		} else {
			_ = json.Unmarshal(body, &want)
			want.Entries = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scan(%q, %t)\n got %+v\nwant %+v", body, exact, got, want)
		}
	})
}
