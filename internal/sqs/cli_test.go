package sqs_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// TestAWSCLI runs the README's queue commands with the AWS CLI (botocore),
// when it is installed and CONVEYOR_TEST_AWSCLI=1 (the CLI takes seconds to
// start).
func TestAWSCLI(t *testing.T) {
	if os.Getenv("CONVEYOR_TEST_AWSCLI") != "1" {
		t.Skip("set CONVEYOR_TEST_AWSCLI=1 to run the AWS CLI against the server")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	in := servertest.Start(t)
	run := func(args ...string) (map[string]any, string, error) {
		cmd := exec.CommandContext(t.Context(), awsCLI, append([]string{"--endpoint-url", in.URL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if err == nil && strings.TrimSpace(stdout.String()) != "" {
			if jerr := json.Unmarshal([]byte(stdout.String()), &out); jerr != nil {
				t.Fatalf("%v: %v: %s", args, jerr, stdout.String())
			}
		}
		return out, stderr.String(), err
	}
	out, _, err := run("sqs", "create-queue", "--queue-name", "cli", "--attributes", "VisibilityTimeout=60")
	if err != nil {
		t.Fatal(err)
	}
	url := out["QueueUrl"].(string)
	if _, _, err := run("sqs", "send-message", "--queue-url", url, "--message-body", `{"id":42}`,
		"--message-attributes", `{"k":{"DataType":"String","StringValue":"v"}}`); err != nil {
		t.Fatal(err)
	}
	out, _, err = run("sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All", "--attribute-names", "All")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := out["Messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("receive-message: %v", out)
	}
	m := msgs[0].(map[string]any)
	if m["Body"] != `{"id":42}` || m["Attributes"].(map[string]any)["SenderId"] != "AKIDCLI" ||
		m["MessageAttributes"].(map[string]any)["k"].(map[string]any)["StringValue"] != "v" {
		t.Errorf("message %v", m)
	}
	if _, _, err := run("sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"].(string)); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.txt")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 262145)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sqs", "delete-message", "--queue-url", url, "--receipt-handle", "bogus"},
			`An error occurred (ReceiptHandleIsInvalid) when calling the DeleteMessage operation: The input receipt handle "bogus" is not a valid receipt handle.`},
		{[]string{"sqs", "send-message", "--queue-url", url, "--message-body", "file://" + big},
			"An error occurred (InvalidParameterValue) when calling the SendMessage operation: One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."},
		{[]string{"sqs", "get-queue-url", "--queue-name", "nope"},
			"An error occurred (AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl operation: The specified queue does not exist."},
		{[]string{"sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "11"},
			"An error occurred (InvalidParameterValue) when calling the ReceiveMessage operation: Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."},
	} {
		_, stderr, err := run(c.args...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: err %v, stderr %q\nwant %q", c.args, err, stderr, c.want)
		}
	}
	out, _, err = run("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
	if err != nil {
		t.Fatal(err)
	}
	if a := out["Attributes"].(map[string]any); a["ApproximateNumberOfMessages"] != "0" || a["VisibilityTimeout"] != "60" {
		t.Errorf("attributes %v", a)
	}
}
