package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// errCode returns the error code a client sees (for SQS, the awsQuery code
// from x-amzn-query-error), "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func receive(t *testing.T, c *sqs.Client, url string, in *sqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	if in == nil {
		in = &sqs.ReceiveMessageInput{}
	}
	in.QueueUrl = &url
	out, err := c.ReceiveMessage(ctxT(t), in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func send(t *testing.T, c *sqs.Client, url, body string) *sqs.SendMessageOutput {
	t.Helper()
	out, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func queueAttrs(t *testing.T, c *sqs.Client, url string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	if len(names) == 0 {
		names = []types.QueueAttributeName{types.QueueAttributeNameAll}
	}
	out, err := c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: names})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// counts returns visible, not visible and delayed message counts.
func counts(t *testing.T, c *sqs.Client, url string) string {
	t.Helper()
	a := queueAttrs(t, c, url)
	return a["ApproximateNumberOfMessages"] + "/" + a["ApproximateNumberOfMessagesNotVisible"] + "/" + a["ApproximateNumberOfMessagesDelayed"]
}

func TestQueueLifecycle(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0"})
	// The same name with the same attributes is the same queue.
	if again := createQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "45"}); again != url {
		t.Errorf("CreateQueue again = %q, want %q", again, url)
	}
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "30"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || errCode(err) != "QueueAlreadyExists" {
		t.Errorf("CreateQueue with other attributes: %v (code %s)", err, errCode(err))
	}
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Errorf("GetQueueUrl = %v, %v", got, err)
	}
	a := queueAttrs(t, c, url)
	want := map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0", "MaximumMessageSize": "1048576",
		"MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0",
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs", "ApproximateNumberOfMessages": "0"}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, a[k], v)
		}
	}
	if created := a["CreatedTimestamp"]; created == "" || created != a["LastModifiedTimestamp"] {
		t.Errorf("timestamps %q %q", created, a["LastModifiedTimestamp"])
	}
	one := queueAttrs(t, c, url, types.QueueAttributeNameVisibilityTimeout)
	if len(one) != 1 || one["VisibilityTimeout"] != "45" {
		t.Errorf("GetQueueAttributes(VisibilityTimeout) = %v", one)
	}

	// SetQueueAttributes.
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url,
		Attributes: map[string]string{"VisibilityTimeout": "10", "MessageRetentionPeriod": "120"}}); err != nil {
		t.Fatal(err)
	}
	a = queueAttrs(t, c, url)
	if a["VisibilityTimeout"] != "10" || a["MessageRetentionPeriod"] != "120" {
		t.Errorf("after SetQueueAttributes: %v", a)
	}

	// Tags.
	if _, err := c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: &url, Tags: map[string]string{"team": "a", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: &url, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: &url})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Errorf("ListQueueTags = %v, %v", tags, err)
	}
	tagged, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	tags, err = c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: tagged.QueueUrl})
	if err != nil || tags.Tags["k"] != "v" {
		t.Errorf("tags of CreateQueue = %v, %v", tags, err)
	}

	// ListQueues: prefix, pages.
	for i := range 5 {
		createQueue(t, c, fmt.Sprintf("page-%d", i), nil)
	}
	all, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 7 || all.NextToken != nil {
		t.Errorf("ListQueues = %v, %v", all, err)
	}
	var pages [][]string
	var token *string
	for {
		out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("page-"), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out.QueueUrls)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if fmt.Sprint(pages) != fmt.Sprintf("[[%[1]s/page-0 %[1]s/page-1] [%[1]s/page-2 %[1]s/page-3] [%[1]s/page-4]]", in.URL+"/000000000000") {
		t.Errorf("pages = %v", pages)
	}

	// Any host in a QueueUrl names the queue by account and name.
	if _, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/000000000000/jobs")}); err != nil {
		t.Errorf("QueueUrl with another host: %v", err)
	}

	// DeleteQueue.
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) || errCode(err) != "AWS.SimpleQueueService.NonExistentQueue" || errMessage(err) != "The specified queue does not exist." {
		t.Errorf("GetQueueUrl after DeleteQueue: %v", err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); !errors.As(err, &dne) {
		t.Errorf("SendMessage after DeleteQueue: %v", err)
	}
	// The name can be used again; the new queue is empty.
	url2 := createQueue(t, c, "jobs", nil)
	if counts(t, c, url2) != "0/0/0" {
		t.Errorf("recreated queue counts %s", counts(t, c, url2))
	}
}

// TestErrors checks AWS's error for each bad input, and that the queue is
// unchanged after all of them.
func TestErrors(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "q", map[string]string{"VisibilityTimeout": "0"})
	other := createQueue(t, c, "other", nil)
	send(t, c, url, "keep")
	msgs := receive(t, c, url, nil)
	if len(msgs) != 1 {
		t.Fatalf("received %d", len(msgs))
	}
	good := aws.ToString(msgs[0].ReceiptHandle)
	tampered := []byte(good)
	tampered[len(tampered)/2] ^= 1
	missing := aws.String(in.URL + "/000000000000/missing")
	big := strings.Repeat("x", 1048577)
	str := func(s string) *string { return &s }
	attr := func(typ string, v *string, b []byte) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{"a": {DataType: str(typ), StringValue: v, BinaryValue: b}}
	}
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"unknown queue send", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: missing, MessageBody: str("x")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."},
		{"unknown queue receive", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: missing})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", ""},
		{"unknown queue purge", func() error { _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: missing}); return err },
			"AWS.SimpleQueueService.NonExistentQueue", ""},
		{"unknown queue delete", func() error { _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: missing}); return err },
			"AWS.SimpleQueueService.NonExistentQueue", ""},
		{"other account", func() error {
			_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: str(in.URL + "/111111111111/q")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", ""},
		{"not a queue url", func() error {
			_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: str(in.URL + "/q")})
			return err
		}, "InvalidAddress", "The address " + in.URL + "/q is not valid for this endpoint."},
		{"bad receipt handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: str("bogus")})
			return err
		}, "ReceiptHandleIsInvalid", `The input receipt handle "bogus" is not a valid receipt handle.`},
		{"tampered receipt handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: str(string(tampered))})
			return err
		}, "ReceiptHandleIsInvalid", ""},
		{"receipt handle of another queue", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &other, ReceiptHandle: &good})
			return err
		}, "ReceiptHandleIsInvalid", ""},
		{"bad receipt handle visibility", func() error {
			_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: str("AAAA"), VisibilityTimeout: 5})
			return err
		}, "ReceiptHandleIsInvalid", ""},
		{"visibility of a visible message", func() error {
			_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &good, VisibilityTimeout: 5})
			return err
		}, "AWS.SimpleQueueService.MessageNotInflight", ""},
		{"visibility too long", func() error {
			_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &good, VisibilityTimeout: 43201})
			return err
		}, "InvalidParameterValue", "Value 43201 for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."},
		{"oversized message", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &big})
			return err
		}, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."},
		{"oversized with attributes", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str(big[:1048572]), MessageAttributes: attr("String", str("12345"), nil)})
			return err
		}, "InvalidParameterValue", ""},
		{"empty body", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("")})
			return err
		}, "MissingParameter", "The request must contain the parameter MessageBody."},
		{"invalid characters", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("a\x01b")})
			return err
		}, "InvalidMessageContents", ""},
		{"delay too long", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), DelaySeconds: 901})
			return err
		}, "InvalidParameterValue", ""},
		{"attribute without value", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageAttributes: attr("String", nil, nil)})
			return err
		}, "InvalidParameterValue", "Message (user) attribute 'a' must contain a non-empty value of type 'String'."},
		{"attribute of a bad type", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageAttributes: attr("Text", str("v"), nil)})
			return err
		}, "InvalidParameterValue", "The type of message (user) attribute 'a' is invalid. You must use only the following supported type prefixes: Binary, Number, String."},
		{"attribute not a number", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageAttributes: attr("Number", str("abc"), nil)})
			return err
		}, "InvalidParameterValue", ""},
		{"reserved attribute name", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"AWS.x": {DataType: str("String"), StringValue: str("v")}}})
			return err
		}, "InvalidParameterValue", ""},
		{"too many attributes", func() error {
			m := map[string]types.MessageAttributeValue{}
			for i := range 11 {
				m[fmt.Sprint("a", i)] = types.MessageAttributeValue{DataType: str("String"), StringValue: str("v")}
			}
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageAttributes: m})
			return err
		}, "InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10]."},
		{"max messages", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue", "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."},
		{"wait time", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue", "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."},
		{"receive attribute name", func() error {
			//lint:ignore SA1019 the deprecated member still works, as on AWS
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Nope"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute Nope."},
		{"queue name", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("bad name")})
			return err
		}, "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"},
		{"queue name too long", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str(strings.Repeat("a", 81))})
			return err
		}, "InvalidParameterValue", ""},
		{"fifo name without FifoQueue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("f.fifo")})
			return err
		}, "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"},
		{"FifoQueue without a fifo name", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("f"), Attributes: map[string]string{"FifoQueue": "true"}})
			return err
		}, "InvalidParameterValue", "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."},
		{"FifoQueue false on a standard queue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("n"), Attributes: map[string]string{"FifoQueue": "false"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute FifoQueue."},
		{"FifoQueue set on a standard queue", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"FifoQueue": "true"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute FifoQueue."},
		{"FIFO attribute on a standard queue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("n"), Attributes: map[string]string{"ContentBasedDeduplication": "true"}})
			return err
		}, "InvalidAttributeName", "You can specify the ContentBasedDeduplication only when FifoQueue is set to true."},
		{"FIFO attribute set on a standard queue", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"FifoThroughputLimit": "perQueue"}})
			return err
		}, "InvalidAttributeName", "You can specify the FifoThroughputLimit only when FifoQueue is set to true."},
		{"deduplication id on a standard queue", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageDeduplicationId: str("d")})
			return err
		}, "InvalidParameterValue", ""},
		{"group id not valid", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageGroupId: str("a b")})
			return err
		}, "InvalidParameterValue", "Value a b for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."},
		{"group id too long", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: str("x"), MessageGroupId: str(strings.Repeat("g", 129))})
			return err
		}, "InvalidParameterValue", ""},
		{"unknown attribute", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("n"), Attributes: map[string]string{"Colour": "1"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute Colour."},
		{"read-only attribute", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"QueueArn": "x"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute QueueArn."},
		{"attribute out of range", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: str("n"), Attributes: map[string]string{"VisibilityTimeout": "43201"}})
			return err
		}, "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout."},
		{"attribute not a number", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"DelaySeconds": "soon"}})
			return err
		}, "InvalidAttributeValue", "Invalid value for the parameter DelaySeconds."},
		{"message size above the limit", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MaximumMessageSize": "1048577"}})
			return err
		}, "InvalidAttributeValue", ""},
		{"redrive to a missing queue", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{
				"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`}})
			return err
		}, "InvalidParameterValue", ""},
		{"get unknown attribute", func() error {
			_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Colour"}})
			return err
		}, "InvalidAttributeName", "Unknown Attribute Colour."},
		{"empty batch", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{}})
			return err
		}, "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request."},
		{"batch too big", func() error {
			var e []types.DeleteMessageBatchRequestEntry
			for i := range 11 {
				e = append(e, types.DeleteMessageBatchRequestEntry{Id: str(fmt.Sprint(i)), ReceiptHandle: &good})
			}
			_, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: e})
			return err
		}, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11."},
		{"batch ids repeated", func() error {
			e := []types.DeleteMessageBatchRequestEntry{{Id: str("a"), ReceiptHandle: &good}, {Id: str("a"), ReceiptHandle: &good}}
			_, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: e})
			return err
		}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id a repeated."},
		{"batch id invalid", func() error {
			e := []types.ChangeMessageVisibilityBatchRequestEntry{{Id: str("a b"), ReceiptHandle: &good}}
			_, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: e})
			return err
		}, "AWS.SimpleQueueService.InvalidBatchEntryId", ""},
		{"batch too long", func() error {
			e := []types.SendMessageBatchRequestEntry{{Id: str("a"), MessageBody: str(big[:600000])}, {Id: str("b"), MessageBody: str(big[:600000])}}
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: e})
			return err
		}, "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes."},
		{"list queues token without max", func() error {
			_, err := c.ListQueues(ctx, &sqs.ListQueuesInput{NextToken: str("x")})
			return err
		}, "InvalidParameterValue", ""},
		{"list queues max", func() error {
			_, err := c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
			return err
		}, "InvalidParameterValue", ""},
	}
	for _, tc := range cases {
		err := tc.call()
		if got := errCode(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
			continue
		}
		if tc.msg != "" && errMessage(err) != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, errMessage(err), tc.msg)
		}
	}
	// Nothing changed: the one message is still there, visible, and the
	// queue's attributes are the defaults.
	if got := counts(t, c, url); got != "1/0/0" {
		t.Errorf("counts after errors = %s, want 1/0/0", got)
	}
	if a := queueAttrs(t, c, url); a["VisibilityTimeout"] != "0" || a["DelaySeconds"] != "0" || a["MaximumMessageSize"] != "1048576" || a["RedrivePolicy"] != "" {
		t.Errorf("attributes after errors: %v", a)
	}
	names, _ := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if len(names.QueueUrls) != 2 {
		t.Errorf("queues after errors: %v", names.QueueUrls)
	}
	// A handle whose message is deleted may be deleted again (AWS answers
	// success), but its visibility can no longer change.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &good}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &good}); err != nil {
		t.Errorf("second DeleteMessage: %v", err)
	}
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &good, VisibilityTimeout: 3})
	if errCode(err) != "InvalidParameterValue" {
		t.Errorf("ChangeMessageVisibility of a deleted message: %v", err)
	}
}

func TestLongPolling(t *testing.T) {
	in := servertest.Start(t)
	c := in.SQS
	url := createQueue(t, c, "poll", nil)

	// An empty queue answers after the wait.
	start := time.Now()
	if msgs := receive(t, c, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 1}); len(msgs) != 0 {
		t.Fatalf("received %v", msgs)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("empty receive with WaitTimeSeconds 1 took %v", d)
	}

	// A waiting receive returns as soon as a message arrives.
	type result struct {
		msgs []types.Message
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
			done <- result{}
			return
		}
		done <- result{out.Messages, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	sentAt := time.Now()
	send(t, c, url, "wake up")
	select {
	case r := <-done:
		if len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake up" {
			t.Fatalf("long poll got %v", r.msgs)
		}
		if d := r.at.Sub(sentAt); d > 2*time.Second {
			t.Errorf("long poll returned %v after the send", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not return after a send")
	}

	// The queue's ReceiveMessageWaitTimeSeconds is the default wait.
	if _, err := c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: &url,
		Attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "1"}}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	receive(t, c, url, nil)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("receive with the queue's wait of 1s took %v", d)
	}
}

func TestVisibilityTimeout(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "vis", map[string]string{"VisibilityTimeout": "1"})
	send(t, c, url, "m")
	all := []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}
	first := receive(t, c, url, &sqs.ReceiveMessageInput{MessageSystemAttributeNames: all})
	if len(first) != 1 || first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive %v", first)
	}
	if got := counts(t, c, url); got != "0/1/0" {
		t.Errorf("counts while in flight = %s, want 0/1/0", got)
	}
	if again := receive(t, c, url, nil); len(again) != 0 {
		t.Fatalf("received an invisible message: %v", again)
	}
	// After the queue's visibility timeout (1s) it comes back; a waiting
	// receive gets it when it does.
	start := time.Now()
	second := receive(t, c, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5, VisibilityTimeout: 30,
		//lint:ignore SA1019 the deprecated member still works, as on AWS
		AttributeNames: []types.QueueAttributeName{"ApproximateReceiveCount"}})
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive %v", second)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("message came back after %v", d)
	}
	if aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Error("same receipt handle for two receives")
	}
	// The first handle is stale for visibility changes.
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0})
	if errCode(err) != "AWS.SimpleQueueService.MessageNotInflight" {
		t.Errorf("ChangeMessageVisibility with a stale handle: %v", err)
	}
	// ChangeMessageVisibility to 0 makes it visible at once.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	third := receive(t, c, url, &sqs.ReceiveMessageInput{VisibilityTimeout: 30})
	if len(third) != 1 {
		t.Fatal("not visible after ChangeMessageVisibility 0")
	}
	// ChangeMessageVisibilityBatch: one good handle, one stale.
	out, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("new"), ReceiptHandle: third[0].ReceiptHandle, VisibilityTimeout: 1},
		{Id: aws.String("old"), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 1},
	}})
	if err != nil || len(out.Successful) != 1 || aws.ToString(out.Successful[0].Id) != "new" || len(out.Failed) != 1 ||
		aws.ToString(out.Failed[0].Code) != "MessageNotInflight" || !out.Failed[0].SenderFault {
		t.Fatalf("ChangeMessageVisibilityBatch = %+v, %v", out, err)
	}
	fourth := receive(t, c, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5})
	if len(fourth) != 1 {
		t.Fatal("not visible again after the batch change to 1s")
	}
	// The first handle still deletes the message.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, c, url); got != "0/0/0" {
		t.Errorf("counts after delete = %s", got)
	}
}

func TestDelayAndBatches(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "batch", nil)
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("two"), DelaySeconds: 1},
		{Id: aws.String("c"), MessageBody: aws.String("bad\x02")},
		{Id: aws.String("d"), MessageBody: aws.String("three"), MessageAttributes: map[string]types.MessageAttributeValue{
			"trace.id": {DataType: aws.String("String.custom"), StringValue: aws.String("t1")},
			"other":    {DataType: aws.String("Number"), StringValue: aws.String("7")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 3 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "c" ||
		aws.ToString(out.Failed[0].Code) != "InvalidMessageContents" {
		t.Fatalf("SendMessageBatch = %+v", out)
	}
	if got := counts(t, c, url); got != "2/0/1" {
		t.Errorf("counts with a delayed message = %s, want 2/0/1", got)
	}
	msgs := receive(t, c, url, &sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, MessageAttributeNames: []string{"trace.*"}})
	if len(msgs) != 2 {
		t.Fatalf("received %d messages, want the 2 not delayed", len(msgs))
	}
	var withAttrs types.Message
	for _, m := range msgs {
		if aws.ToString(m.Body) == "three" {
			withAttrs = m
		}
	}
	if len(withAttrs.MessageAttributes) != 1 || aws.ToString(withAttrs.MessageAttributes["trace.id"].StringValue) != "t1" {
		t.Errorf("selected attributes = %v", withAttrs.MessageAttributes)
	}
	// The delayed message arrives after its delay.
	late := receive(t, c, url, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5})
	if len(late) != 1 || aws.ToString(late[0].Body) != "two" {
		t.Fatalf("delayed message: %v", late)
	}
	msgs = append(msgs, late...)
	entries := []types.DeleteMessageBatchRequestEntry{{Id: aws.String("bad"), ReceiptHandle: aws.String("nope")}}
	for i, m := range msgs {
		entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), ReceiptHandle: m.ReceiptHandle})
	}
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: entries})
	if err != nil || len(del.Successful) != 3 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch = %+v, %v", del, err)
	}
	if got := counts(t, c, url); got != "0/0/0" {
		t.Errorf("counts after the batch delete = %s", got)
	}

	// The queue's DelaySeconds applies to sends without their own.
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"DelaySeconds": "900"}}); err != nil {
		t.Fatal(err)
	}
	send(t, c, url, "later")
	if got := counts(t, c, url); got != "0/0/1" {
		t.Errorf("counts with the queue's delay = %s, want 0/0/1", got)
	}
}

func TestPurgeQueue(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	url := createQueue(t, c, "purge", nil)
	for i := range 5 {
		send(t, c, url, fmt.Sprint("m", i))
	}
	receive(t, c, url, nil)
	if got := counts(t, c, url); got != "4/1/0" {
		t.Errorf("counts = %s", got)
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, c, url); got != "0/0/0" {
		t.Errorf("counts after purge = %s", got)
	}
	_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url})
	var inProgress *types.PurgeQueueInProgress
	if !errors.As(err, &inProgress) || errCode(err) != "AWS.SimpleQueueService.PurgeQueueInProgress" {
		t.Errorf("second PurgeQueue: %v", err)
	}
	send(t, c, url, "after")
	if msgs := receive(t, c, url, nil); len(msgs) != 1 || aws.ToString(msgs[0].Body) != "after" {
		t.Errorf("after purge received %v", msgs)
	}
}

func TestRedrivePolicy(t *testing.T) {
	in := servertest.Start(t)
	ctx := ctxT(t)
	c := in.SQS
	dlq := createQueue(t, c, "src-dlq", nil)
	dlqARN := queueAttrs(t, c, dlq)["QueueArn"]
	src := createQueue(t, c, "src", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"2"}`})
	if got := queueAttrs(t, c, src)["RedrivePolicy"]; got != `{"deadLetterTargetArn":"`+dlqARN+`","maxReceiveCount":2}` {
		t.Errorf("RedrivePolicy = %s", got)
	}
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("poison"),
		MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if msgs := receive(t, c, src, nil); len(msgs) != 1 {
			t.Fatalf("receive %d: %v", i+1, msgs)
		}
	}
	// The third receive exceeds maxReceiveCount: the message moves.
	if msgs := receive(t, c, src, nil); len(msgs) != 0 {
		t.Fatalf("third receive got %v", msgs)
	}
	moved := receive(t, c, dlq, &sqs.ReceiveMessageInput{MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"DeadLetterQueueSourceArn"}})
	if len(moved) != 1 || aws.ToString(moved[0].Body) != "poison" || aws.ToString(moved[0].MessageAttributes["k"].StringValue) != "v" ||
		moved[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:src" {
		t.Fatalf("dead letter = %+v", moved)
	}
	srcs, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || len(srcs.QueueUrls) != 1 || srcs.QueueUrls[0] != src {
		t.Errorf("ListDeadLetterSourceQueues = %v, %v", srcs, err)
	}
	if got := counts(t, c, src); got != "0/0/0" {
		t.Errorf("source counts = %s", got)
	}
}

// startRestartable starts a Conveyor on a data directory of its own, quiet, and returns its
// configuration, to start it again on the same directory.
func startRestartable(t *testing.T) (server.Config, *servertest.Instance) {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	in, err := servertest.StartConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, in
}

// TestRestart: queues, attributes, tags, messages and receive states
// survive a restart; a message received and not deleted comes back after its
// visibility timeout, with its receive count.
func TestRestart(t *testing.T) {
	cfg, in := startRestartable(t)
	c := in.SQS
	ctx := ctxT(t)
	url, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("durable"),
		Attributes: map[string]string{"VisibilityTimeout": "7"}, Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, *url.QueueUrl, "first")
	send(t, c, *url.QueueUrl, "second")
	got := receive(t, c, *url.QueueUrl, &sqs.ReceiveMessageInput{VisibilityTimeout: 2})
	if len(got) != 1 || aws.ToString(got[0].Body) != "first" {
		t.Fatalf("received %v", got)
	}
	stoppedAt := time.Now()
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}

	in, err = servertest.StartConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := in.Stop(); err != nil {
			t.Error(err)
		}
	}()
	c = in.SQS
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("durable")})
	if err != nil {
		t.Fatal(err)
	}
	q := *u.QueueUrl
	if a := queueAttrs(t, c, q); a["VisibilityTimeout"] != "7" {
		t.Errorf("attributes after restart: %v", a)
	}
	if tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: &q}); err != nil || tags.Tags["k"] != "v" {
		t.Errorf("tags after restart: %v, %v", tags, err)
	}
	// The received message is still invisible (unless the restart took
	// longer than its visibility timeout); the other one is there.
	if time.Since(stoppedAt) < 1500*time.Millisecond {
		if got := counts(t, c, q); got != "1/1/0" {
			t.Errorf("counts after restart = %s, want 1/1/0", got)
		}
	}
	second := receive(t, c, q, &sqs.ReceiveMessageInput{VisibilityTimeout: 60})
	if len(second) != 1 || aws.ToString(second[0].Body) != "second" {
		t.Fatalf("after restart received %v", second)
	}
	//lint:ignore SA1019 the deprecated member still works, as on AWS
	back := receive(t, c, q, &sqs.ReceiveMessageInput{WaitTimeSeconds: 5, AttributeNames: []types.QueueAttributeName{"All"}})
	if len(back) != 1 || aws.ToString(back[0].Body) != "first" || back[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("received-not-deleted message after restart: %v", back)
	}
	// Receipt handles stay valid across restarts.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q, ReceiptHandle: second[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q, ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, c, q); got != "0/0/0" {
		t.Errorf("counts after deletes = %s", got)
	}
}

// TestShutdownEndsLongPolls: a graceful shutdown does not wait for long
// polls to run out; they answer (empty) at once.
func TestShutdownEndsLongPolls(t *testing.T) {
	_, in := startRestartable(t)
	url := createQueue(t, in.SQS, "poll", nil)
	done := make(chan error, 1)
	go func() {
		_, err := in.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with a long poll waiting", d)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("long poll during shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("long poll did not return")
	}
}

// TestShortestRetention: every retention period SQS takes, down to 60 s, is
// taken by CreateQueue and SetQueueAttributes on standard and FIFO queues
// (JetStream refuses a duplicate window longer than a stream's max age),
// and the server starts again with them.
func TestShortestRetention(t *testing.T) {
	cfg, in := startRestartable(t)
	c, ctx := in.SQS, ctxT(t)
	urls := map[string]string{}
	for _, name := range []string{"created", "created.fifo", "set", "set.fifo"} {
		attrs := map[string]string{}
		if strings.HasPrefix(name, "created") {
			attrs["MessageRetentionPeriod"] = "60"
		}
		if strings.HasSuffix(name, ".fifo") {
			attrs["FifoQueue"] = "true"
		}
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatalf("CreateQueue %s: %v", name, err)
		}
		urls[name] = *out.QueueUrl
	}
	for _, name := range []string{"set", "set.fifo"} {
		for _, v := range []string{"60", "119", "299"} {
			if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(urls[name]),
				Attributes: map[string]string{"MessageRetentionPeriod": v}}); err != nil {
				t.Fatalf("SetQueueAttributes %s MessageRetentionPeriod=%s: %v", name, v, err)
			}
		}
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	in, err := servertest.StartConfig(cfg)
	if err != nil {
		t.Fatalf("start again: %v", err)
	}
	defer func() {
		if err := in.Stop(); err != nil {
			t.Error(err)
		}
	}()
	c = in.SQS
	want := map[string]string{"created": "60", "created.fifo": "60", "set": "299", "set.fifo": "299"}
	for name, url := range urls {
		if a := queueAttrs(t, c, url); a["MessageRetentionPeriod"] != want[name] {
			t.Errorf("%s: MessageRetentionPeriod %q, want %s", name, a["MessageRetentionPeriod"], want[name])
		}
		in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("kept")}
		if strings.HasSuffix(name, ".fifo") {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("g"), aws.String("d")
		}
		if _, err := c.SendMessage(ctx, in); err != nil {
			t.Fatalf("SendMessage %s: %v", name, err)
		}
		if got := receive(t, c, url, nil); len(got) != 1 || aws.ToString(got[0].Body) != "kept" {
			t.Errorf("%s: received %v", name, got)
		}
	}
}
