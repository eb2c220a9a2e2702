package server_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The AWS CLI with two profiles in two accounts, in two regions, against a Conveyor with
// --auth: buses are the caller's, and a bus policy lets the other account put events (opt-in:
// the CLI is slow to start).
func TestAWSCLIAccounts(t *testing.T) {
	if os.Getenv("CONVEYOR_TEST_AWSCLI") != "1" {
		t.Skip("set CONVEYOR_TEST_AWSCLI=1 to run the AWS CLI against the server")
	}
	in := twoAccounts(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[alice]\naws_access_key_id = AKIAALICE\naws_secret_access_key = alice-secret\n"+
		"[bob]\naws_access_key_id = AKIABOB\naws_secret_access_key = bob-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(profile, region string, args ...string) (map[string]any, error) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "aws", append([]string{"--endpoint-url", in.URL, "--profile", profile, "--region", region,
			"--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_CONFIG_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Logf("aws %s: %s", strings.Join(args, " "), ee.Stderr)
			}
			return nil, err
		}
		var m map[string]any
		if len(out) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return m, nil
	}
	must := func(m map[string]any, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct{ profile, region, account string }{
		{"alice", "us-east-1", aliceAccount}, {"alice", "eu-west-1", aliceAccount}, {"bob", "us-east-1", bobAccount},
	} {
		out := must(aws(c.profile, c.region, "events", "create-event-bus", "--name", "orders"))
		if want := "arn:aws:events:" + c.region + ":" + c.account + ":event-bus/orders"; out["EventBusArn"] != want {
			t.Errorf("%s in %s made %v, want %s", c.profile, c.region, out["EventBusArn"], want)
		}
	}
	list := must(aws("bob", "us-east-1", "events", "list-event-buses"))
	var arns []string
	for _, b := range list["EventBuses"].([]any) {
		arns = append(arns, b.(map[string]any)["Arn"].(string))
	}
	if !slices.Equal(arns, []string{"arn:aws:events:us-east-1:" + bobAccount + ":event-bus/default", "arn:aws:events:us-east-1:" + bobAccount + ":event-bus/orders"}) {
		t.Errorf("bob lists %v", arns)
	}
	aliceOrders := "arn:aws:events:us-east-1:" + aliceAccount + ":event-bus/orders"
	entries := `[{"EventBusName":"` + aliceOrders + `","Source":"shop","DetailType":"order","Detail":"{}"}]`
	put := must(aws("bob", "us-east-1", "events", "put-events", "--entries", entries))
	if e := put["Entries"].([]any)[0].(map[string]any); e["ErrorCode"] != "AccessDeniedException" {
		t.Errorf("bob puts on alice's bus without her leave: %v", e)
	}
	must(aws("alice", "us-east-1", "events", "put-permission", "--event-bus-name", "orders", "--action", "events:PutEvents",
		"--principal", bobAccount, "--statement-id", "bob"))
	put = must(aws("bob", "us-east-1", "events", "put-events", "--entries", entries))
	if e := put["Entries"].([]any)[0].(map[string]any); e["EventId"] == nil {
		t.Errorf("bob puts on alice's bus with her leave: %v", e)
	}
	if _, err := aws("alice", "us-east-1", "events", "describe-event-bus", "--name", "arn:aws:events:us-east-1:"+bobAccount+":event-bus/orders"); err == nil {
		t.Error("alice describes bob's bus")
	}
}
