package cloudtrail_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// TestAWSCLI runs `aws cloudtrail lookup-events` (botocore: the long
// X-Amz-Target, its own paginator) against the server. The CLI takes seconds
// to start, so the test runs only with CONVEYOR_TEST_AWSCLI=1.
func TestAWSCLI(t *testing.T) {
	if os.Getenv("CONVEYOR_TEST_AWSCLI") != "1" {
		t.Skip("set CONVEYOR_TEST_AWSCLI=1 to run the AWS CLI against the server")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	e := start(t)
	eb := eventbridge.NewFromConfig(e.config("AKIAALICE"))
	for _, name := range []string{"one", "two", "three"} {
		if _, err := eb.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, cloudtrail.NewFromConfig(e.config("AKIAALICE")), attr(cttypes.LookupAttributeKeyEventName, "PutRule"), 3)

	run := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(t.Context(), awsCLI, append([]string{"--endpoint-url", e.url, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIACLI", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	// The CLI pages through with its own paginator (page size 1 here).
	out, errOut, err := run("cloudtrail", "lookup-events", "--lookup-attributes",
		"AttributeKey=EventName,AttributeValue=PutRule", "--page-size", "1")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	var res struct {
		Events []struct {
			EventName, Username, CloudTrailEvent string
			EventTime                            float64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var names []string
	for _, ev := range res.Events {
		var rec struct{ RequestParameters struct{ Name string } }
		if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &rec); err != nil {
			t.Fatal(err)
		}
		names = append(names, rec.RequestParameters.Name)
		if ev.EventName != "PutRule" || ev.Username != "alice" || ev.EventTime == 0 {
			t.Errorf("event %+v", ev)
		}
	}
	if strings.Join(names, ",") != "three,two,one" {
		t.Errorf("CLI listed %v", names)
	}

	_, errOut, err = run("cloudtrail", "lookup-events", "--start-time", "2030-01-02", "--end-time", "2030-01-01")
	if err == nil || !strings.Contains(errOut, "An error occurred (InvalidTimeRangeException) when calling the LookupEvents operation: Start time must not be after end time.") {
		t.Errorf("bad range: %v %s", err, errOut)
	}
	_, errOut, err = run("cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=PutRule",
		"AttributeKey=Username,AttributeValue=alice")
	if err == nil || !strings.Contains(errOut, "(InvalidLookupAttributesException)") {
		t.Errorf("two attributes: %v %s", err, errOut)
	}
}
