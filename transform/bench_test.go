package transform

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchEvent is an EC2 state-change event with a detail of about 1 KB, the
// size of a typical AWS service event.
var benchEvent = []byte(`{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{` +
	`"tags":{` + strings.TrimSuffix(strings.Repeat(`"key":"value with some text in it",`, 20), ",") + `},` +
	`"instance-id":"i-0123456789","state":"RUNNING","launch":{"zone":"us-east-1a","count":3,"ebs":true}}}`)

var benchCtx = Context{RuleName: "r", RuleARN: "arn:aws:events:us-east-1:123456789012:rule/r", IngestionTime: time.Unix(1447277394, 0)}

func BenchmarkApply(b *testing.B) {
	specs := []struct {
		name string
		spec Spec
	}{
		{"none", Spec{}},
		{"input", Spec{Input: ptr(`{"message":"an instance changed state"}`)}},
		{"input-path", Spec{InputPath: ptr("$.detail.state")}},
		{"input-path-object", Spec{InputPath: ptr("$.detail")}},
		{"string-template", Spec{InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state"},
			InputTemplate: `"<instance> is in state <state>"`,
		}}},
		{"json-template", Spec{InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state", "resource": "$.resources[0]", "zone": "$.detail.launch.zone", "count": "$.detail.launch.count"},
			InputTemplate: `{"instance": <instance>, "state": <state>, "resource": <resource>, "where": "<zone> (<count>)", "rule": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>}`,
		}}},
		{"whole-event", Spec{InputTransformer: &InputTransformer{
			InputTemplate: `{"rule": <aws.events.rule-arn>, "event": <aws.events.event.json>}`,
		}}},
	}
	for _, s := range specs {
		tr, err := Compile(s.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(benchEvent)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Apply(benchEvent, benchCtx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		m := map[string]string{}
		var tpl strings.Builder
		tpl.WriteString("{")
		for i := range n {
			k := fmt.Sprintf("k%d", i)
			m[k] = "$.detail.tags.key"
			if i > 0 {
				tpl.WriteString(", ")
			}
			fmt.Fprintf(&tpl, `"%s": <%s>`, k, k)
		}
		tpl.WriteString("}")
		spec := Spec{InputTransformer: &InputTransformer{InputPathsMap: m, InputTemplate: tpl.String()}}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
