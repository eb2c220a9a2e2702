package transform_test

import (
	"fmt"
	"time"

	"github.com/conveyor/conveyor/transform"
)

func Example() {
	// At PutTargets time: validate and compile the target's settings.
	tr, err := transform.Compile(transform.Spec{
		TargetID: "notify",
		InputTransformer: &transform.InputTransformer{
			InputPathsMap: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state"},
			InputTemplate: `{"text": "<instance> is in state <state>", "state": <state>, "rule": <aws.events.rule-name>}`,
		},
	})
	if err != nil {
		fmt.Println(err) // a *transform.ValidationError: send a ValidationException
		return
	}
	// For each matched event: build what the target receives.
	event := []byte(`{"version":"0","id":"1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":[],"detail":{"instance-id":"i-0123456789","state":"stopped"}}`)
	out, err := tr.Apply(event, transform.Context{
		RuleName:      "ec2-stopped",
		RuleARN:       "arn:aws:events:us-east-1:123456789012:rule/ec2-stopped",
		IngestionTime: time.Date(2015, 11, 11, 21, 29, 55, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))

	_, err = transform.Compile(transform.Spec{TargetID: "t1", InputTransformer: &transform.InputTransformer{
		InputTemplate: `{"state": <state>}`,
	}})
	fmt.Println(err)
	// Output:
	// {"text": "i-0123456789 is in state stopped", "state": "stopped", "rule": "ec2-stopped"}
	// InputTemplate for target t1 contains invalid placeholder state.
}
