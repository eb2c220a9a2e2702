package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

const (
	plainLog = "testdata/cloudtrail/111122223333_CloudTrail_eu-west-1_20261120T0915Z_Xq7pL0aVbN3kT2mR.json"
	gzipLog  = "testdata/cloudtrail/111122223333_CloudTrail_us-east-1_20261120T0920Z_old.json.gz"
)

// `conveyor cloudtrail import --to-bus` puts AWS's log files (plain and
// gzip) in the event history as written and their write calls on the bus;
// data events stay out of the history; a second import finds the records
// already there.
func TestCloudTrailImport(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.AuditRetention = 50 * 365 * 24 * time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queueURL := importQueueRule(t, ctx, in, `{"source":[{"prefix":"aws."}],"detail-type":["AWS API Call via CloudTrail"],"detail":{"recipientAccountId":["111122223333"]}}`)

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, "--to-bus", plainLog, gzipLog}, &out, &errOut); err != nil {
		t.Fatalf("import: %v\n%s%s", err, out.String(), errOut.String())
	}
	want := plainLog + ": 4 imported, 0 already in the history, 3 put on the bus, 0 skipped\n" +
		gzipLog + ": 1 imported, 0 already in the history, 1 put on the bus, 1 skipped\n" +
		"  record 1 skipped: not a CloudTrail record (eventID, eventSource, eventName and eventTime are required)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}

	// The history has each management record as AWS wrote it.
	plain, err := os.ReadFile(plainLog)
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal(plain, &file); err != nil {
		t.Fatal(err)
	}
	created := lookupOne(t, ctx, in, "CreateBucket")
	var compact bytes.Buffer
	_ = json.Compact(&compact, file.Records[0])
	if aws.ToString(created.CloudTrailEvent) != compact.String() || aws.ToString(created.Username) != "alice" ||
		aws.ToString(created.EventSource) != "s3.amazonaws.com" || aws.ToString(created.AccessKeyId) != "AKIAI44QH8DHBEXAMPLE" {
		t.Errorf("CreateBucket in the history: %+v %s", created, aws.ToString(created.CloudTrailEvent))
	}
	user := lookupOne(t, ctx, in, "CreateUser")
	if !strings.Contains(aws.ToString(user.CloudTrailEvent), `"managementEvent":true`) || aws.ToString(user.Username) != "root" {
		t.Errorf("CreateUser (eventVersion 1.05, no managementEvent): %s", aws.ToString(user.CloudTrailEvent))
	}
	lookupOne(t, ctx, in, "DescribeInstances")
	lookupOne(t, ctx, in, "PutBucketPolicy")
	if got := lookup(t, ctx, in, "PutObject"); len(got) != 0 {
		t.Errorf("a data event is in the history: %+v", got)
	}

	// Write calls reached the ENABLED rule; the read-only DescribeInstances
	// and the data event did not.
	var names []string
	for _, b := range drainQueue(t, ctx, in, queueURL, 3) {
		var ev struct {
			Source, Account, Region string
			Detail                  struct{ EventName string }
		}
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Source+"/"+ev.Detail.EventName+"/"+ev.Region)
	}
	slices.Sort(names)
	if w := []string{"aws.iam/CreateUser/us-east-1", "aws.s3/CreateBucket/eu-west-1", "aws.s3/PutBucketPolicy/eu-west-1"}; !slices.Equal(names, w) {
		t.Errorf("rule got %v, want %v", names, w)
	}

	// A file named twice is imported the second time after the first
	// (files go two at a time): its management records are present.
	out.Reset()
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, "--parallel", "3", gzipLog, plainLog, "./" + gzipLog}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want = gzipLog + ": 0 imported, 1 already in the history, 1 skipped\n" +
		"  record 1 skipped: not a CloudTrail record (eventID, eventSource, eventName and eventTime are required)\n" +
		plainLog + ": 1 imported, 3 already in the history, 0 skipped\n" +
		"./" + gzipLog + ": 0 imported, 1 already in the history, 1 skipped\n" +
		"  record 1 skipped: not a CloudTrail record (eventID, eventSource, eventName and eventTime are required)\n"
	if out.String() != want {
		t.Errorf("three at once:\n%s\nwant:\n%s", out.String(), want)
	}

	// Again, without --to-bus: the management records are found in the
	// history (the data event, never in it, is appended again and stored
	// once by its eventID).
	out.Reset()
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, plainLog}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if want := plainLog + ": 1 imported, 3 already in the history, 0 skipped\n"; out.String() != want {
		t.Errorf("second import: %q, want %q", out.String(), want)
	}
	if got := lookup(t, ctx, in, "CreateBucket"); len(got) != 1 {
		t.Errorf("CreateBucket %d times in the history", len(got))
	}
}

func TestCloudTrailImportErrors(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	bad := map[string]string{
		"notjson.json":   `hello`,
		"norecords.json": `{"records":[]}`,
		"list.json":      `{"Records":{}}`,
		"cut.json":       `{"Records":[{"eventID":"x"`,
	}
	for name, body := range bad {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, p}, &out, &errOut)
		if err == nil || !strings.Contains(errOut.String(), "ValidationException") {
			t.Errorf("%s: err %v, stderr %q", name, err, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL}, &out, &errOut); err == nil {
		t.Error("no files accepted")
	}
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, "--parallel", "0", plainLog}, &out, &errOut); err == nil {
		t.Error("--parallel 0 accepted")
	}
	if err := run(ctx, []string{"cloudtrail", "import", "--endpoint-url", in.URL, filepath.Join(dir, "missing.json")}, &out, &errOut); err == nil {
		t.Error("a missing file accepted")
	}
}

func importQueueRule(t *testing.T, ctx context.Context, in *servertest.Instance, pattern string) string {
	t.Helper()
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("imported")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("imported"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("imported"), Targets: []ebtypes.Target{{
		Id: aws.String("q"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

func drainQueue(t *testing.T, ctx context.Context, in *servertest.Instance, url string, want int) []string {
	t.Helper()
	var bodies []string
	receive := func() {
		out, err := in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	waitfor.Err(t, 20*time.Second, "the queue's messages", func() error {
		if receive(); len(bodies) < want {
			return fmt.Errorf("got %d, want %d", len(bodies), want)
		}
		return nil
	})
	// Not a wait for a condition: a message more than want, if there were
	// one, would arrive by now.
	time.Sleep(200 * time.Millisecond)
	receive()
	return bodies
}

// lookup waits briefly for the index, then returns the events named name.
func lookup(t *testing.T, ctx context.Context, in *servertest.Instance, name string) []cttypes.Event {
	t.Helper()
	out, err := in.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
		AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Events
}

// lookupOne finds the one event named name in the history, at once: an
// import answers when the history shows what it imported.
func lookupOne(t *testing.T, ctx context.Context, in *servertest.Instance, name string) cttypes.Event {
	t.Helper()
	got := lookup(t, ctx, in, name)
	if len(got) != 1 {
		t.Fatalf("%d %s events in the history, want 1", len(got), name)
	}
	return got[0]
}
