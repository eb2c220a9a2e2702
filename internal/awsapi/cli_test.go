package awsapi_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAWSCLI runs the AWS CLI (botocore) against the test server, when it is installed: the
// CLI must print AWS's error codes, use the long CloudTrail target, and read SQS's
// query-compatible code. The CLI takes seconds to start, so the test runs only with
// CONVEYOR_TEST_AWSCLI=1.
func TestAWSCLI(t *testing.T) {
	if os.Getenv("CONVEYOR_TEST_AWSCLI") != "1" {
		t.Skip("set CONVEYOR_TEST_AWSCLI=1 to run the AWS CLI against the server")
	}
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	hs, log := testServer(t)
	run := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(t.Context(), aws, append([]string{"--endpoint-url", hs.URL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=ap-south-1",
			"AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	for _, c := range []struct {
		args       []string
		wantOut    string
		wantErr    string
		target, ak string
	}{
		{args: []string{"events", "describe-event-bus"}, wantOut: `"CreationTime": 1704164645.5`,
			target: "AWSEvents.DescribeEventBus"},
		{args: []string{"events", "describe-event-bus", "--name", "nope"},
			wantErr: "An error occurred (ResourceNotFoundException) when calling the DescribeEventBus operation: Event bus nope does not exist.",
			target:  "AWSEvents.DescribeEventBus"},
		{args: []string{"cloudtrail", "lookup-events", "--max-results", "51"},
			wantErr: "An error occurred (InvalidMaxResultsException) when calling the LookupEvents operation: MaxResults must be between 1 and 50.",
			target:  "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"},
		{args: []string{"cloudtrail", "lookup-events", "--max-results", "5", "--no-paginate"}, wantOut: `"EventName": "PutRule"`,
			target: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"},
		{args: []string{"sqs", "get-queue-url", "--queue-name", "q2"},
			wantErr: "An error occurred (AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl operation: The specified queue does not exist.",
			target:  "AmazonSQS.GetQueueUrl"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, err := run(c.args...)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(errOut, c.wantErr) {
					t.Errorf("err %v, stderr %q\nwant %q", err, errOut, c.wantErr)
				}
			} else if err != nil || !strings.Contains(out, c.wantOut) {
				t.Errorf("err %v, stdout %q, stderr %q\nwant %q", err, out, errOut, c.wantOut)
			}
			call := log.next(t)
			if call.Target != c.target || call.Caller.AccessKeyID != "AKIDCLI" || call.Caller.Region != "ap-south-1" ||
				!strings.HasPrefix(call.Caller.UserAgent, "aws-cli/") {
				t.Errorf("observed %s by %+v", call.Target, call.Caller)
			}
		})
	}
}
