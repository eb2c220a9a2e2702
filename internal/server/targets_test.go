package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// TestPutTargetsRefusesUndeliverable: PutTargets refuses, with AWS's
// ValidationException, the targets delivery would refuse every event of
// (they were stored, and their events dropped), and stores nothing of the
// call; the targets delivery reaches are stored.
func TestPutTargetsRefusesUndeliverable(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	putRule(t, c, "", "r", `{"source":["app"]}`)
	good := types.Target{Id: aws.String("good"), Arn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:/conveyor/ok")}
	cases := []struct{ arn, msg string }{
		{"arn:aws:logs:us-east-1:000000000000:log-group:../../etc/cron.d/x",
			"Parameter arn:aws:logs:us-east-1:000000000000:log-group:../../etc/cron.d/x is not valid. Reason: Provided Arn is not in correct format."},
		{"arn:aws:logs:us-east-1:000000000000:log-group:my group",
			"Parameter arn:aws:logs:us-east-1:000000000000:log-group:my group is not valid. Reason: Provided Arn is not in correct format."},
		{"arn:aws:logs:us-east-1:000000000000:log-group:/a:log-stream:b",
			"Parameter arn:aws:logs:us-east-1:000000000000:log-group:/a:log-stream:b is not valid. Reason: Provided Arn is not in correct format."},
		{"arn:aws:lambda:us-east-1:000000000000:function:no.dots.here",
			"Parameter arn:aws:lambda:us-east-1:000000000000:function:no.dots.here is not valid. Reason: Provided Arn is not in correct format."},
		{"arn:aws:sns:us-east-1:000000000000:topic", "sns is not a supported service for a target."},
	}
	for _, tc := range cases {
		_, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"),
			Targets: []types.Target{good, {Id: aws.String("bad"), Arn: aws.String(tc.arn)}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != tc.msg {
			t.Errorf("PutTargets %s: %v, want ValidationException %q", tc.arn, err, tc.msg)
		}
	}
	lt, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	if err != nil || len(lt.Targets) != 0 {
		t.Fatalf("after refused calls the rule has targets %+v (%v)", lt, err)
	}
	out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{good}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets of a log group: %v %+v", err, out)
	}
}
