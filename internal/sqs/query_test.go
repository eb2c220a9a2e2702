package sqs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// query sends a Query protocol call (a form POST to path) and returns the status and body.
func query(t *testing.T, in *servertest.Instance, path string, form url.Values, sign *aws.Credentials) (int, string) {
	t.Helper()
	body := form.Encode()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, in.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sign != nil {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), *sign, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type queryMessage struct {
	MessageId, ReceiptHandle, Body string
	Attribute                      []struct{ Name, Value string }
	MessageAttribute               []struct {
		Name  string
		Value struct{ DataType, StringValue string }
	}
}

type queryError struct {
	Error     struct{ Type, Code, Message string }
	RequestId string
}

// SQS answers the Query protocol as it did before JSON: form calls to / or to a queue's URL,
// flattened lists and maps, XML answers, and errors with SQS's query codes.
func TestQueryProtocol(t *testing.T) {
	in := servertest.Start(t)
	status, body := query(t, in, "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"q"},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"45"}, "Tag.1.Key": {"team"}, "Tag.1.Value": {"a"}}, nil)
	var created struct {
		CreateQueueResult struct{ QueueUrl string }
		ResponseMetadata  struct{ RequestId string }
	}
	if err := xml.Unmarshal([]byte(body), &created); status != 200 || err != nil || created.CreateQueueResult.QueueUrl == "" ||
		created.ResponseMetadata.RequestId == "" || !strings.Contains(body, `<CreateQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">`) {
		t.Fatalf("CreateQueue: %d %s", status, body)
	}
	qurl := created.CreateQueueResult.QueueUrl
	path := strings.TrimPrefix(qurl, in.URL)

	// SendMessage to the queue's URL (no QueueUrl parameter), with a message attribute.
	status, body = query(t, in, path, url.Values{"Action": {"SendMessage"}, "MessageBody": {"hello <world> & co"},
		"MessageAttribute.1.Name": {"kind"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"k1"}}, nil)
	if status != 200 || !strings.Contains(body, "<MD5OfMessageBody>") || !strings.Contains(body, "<MessageId>") {
		t.Fatalf("SendMessage: %d %s", status, body)
	}
	status, body = query(t, in, "/", url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {qurl},
		"SendMessageBatchRequestEntry.1.Id": {"a"}, "SendMessageBatchRequestEntry.1.MessageBody": {"two"},
		"SendMessageBatchRequestEntry.2.Id": {"b"}, "SendMessageBatchRequestEntry.2.MessageBody": {"three"}, "SendMessageBatchRequestEntry.2.DelaySeconds": {"0"}}, nil)
	var batch struct {
		SendMessageBatchResult struct {
			SendMessageBatchResultEntry []struct{ Id, MessageId, MD5OfMessageBody string }
		}
	}
	if err := xml.Unmarshal([]byte(body), &batch); status != 200 || err != nil || len(batch.SendMessageBatchResult.SendMessageBatchResultEntry) != 2 ||
		batch.SendMessageBatchResult.SendMessageBatchResultEntry[1].MessageId == "" {
		t.Fatalf("SendMessageBatch: %d %s", status, body)
	}

	status, body = query(t, in, "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {qurl}, "MaxNumberOfMessages": {"10"},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}}, nil)
	var received struct {
		ReceiveMessageResult struct{ Message []queryMessage }
	}
	if err := xml.Unmarshal([]byte(body), &received); status != 200 || err != nil || len(received.ReceiveMessageResult.Message) != 3 {
		t.Fatalf("ReceiveMessage: %d %s", status, body)
	}
	first := received.ReceiveMessageResult.Message[0]
	attrs := map[string]string{}
	for _, a := range first.Attribute {
		attrs[a.Name] = a.Value
	}
	if first.Body != "hello <world> & co" || attrs["ApproximateReceiveCount"] != "1" || attrs["SentTimestamp"] == "" ||
		len(first.MessageAttribute) != 1 || first.MessageAttribute[0].Name != "kind" || first.MessageAttribute[0].Value.StringValue != "k1" {
		t.Errorf("received message: %+v", first)
	}
	status, body = query(t, in, "/", url.Values{"Action": {"DeleteMessageBatch"}, "QueueUrl": {qurl},
		"DeleteMessageBatchRequestEntry.1.Id": {"x"}, "DeleteMessageBatchRequestEntry.1.ReceiptHandle": {first.ReceiptHandle},
		"DeleteMessageBatchRequestEntry.2.Id": {"y"}, "DeleteMessageBatchRequestEntry.2.ReceiptHandle": {"bogus"}}, nil)
	if status != 200 || !strings.Contains(body, "<DeleteMessageBatchResultEntry><Id>x</Id></DeleteMessageBatchResultEntry>") ||
		!strings.Contains(body, "<BatchResultErrorEntry><Id>y</Id><SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code>") {
		t.Errorf("DeleteMessageBatch: %d %s", status, body)
	}

	// GET works too, and attributes come back as Attribute Name/Value pairs.
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, qurl+"?Action=GetQueueAttributes&AttributeName.1=VisibilityTimeout&AttributeName.2=QueueArn", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Attribute><Name>VisibilityTimeout</Name><Value>45</Value></Attribute>") {
		t.Errorf("GetQueueAttributes by GET: %d %s", resp.StatusCode, b)
	}
	status, body = query(t, in, "/", url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {qurl}}, nil)
	if status != 200 || !strings.Contains(body, "<Tag><Key>team</Key><Value>a</Value></Tag>") {
		t.Errorf("ListQueueTags: %d %s", status, body)
	}

	// Errors: SQS's query codes, Sender or Receiver, the request id.
	for _, c := range []struct {
		form         url.Values
		status       int
		code, starts string
	}{
		{url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}}, 400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist"},
		{url.Values{"Action": {"CreateQueue"}, "QueueName": {"q"}, "Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"46"}}, 400, "QueueAlreadyExists", ""},
		{url.Values{"Action": {"Frobnicate"}}, 400, "InvalidAction", "The action Frobnicate is not valid for this endpoint."},
		{url.Values{"QueueName": {"q"}}, 400, "MissingAction", ""},
		{url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {qurl}, "MaxNumberOfMessages": {"many"}}, 400, "ValidationException", ""},
	} {
		status, body := query(t, in, "/", c.form, nil)
		var e queryError
		if err := xml.Unmarshal([]byte(body), &e); err != nil || status != c.status || e.Error.Type != "Sender" || e.Error.Code != c.code ||
			!strings.HasPrefix(e.Error.Message, c.starts) || e.RequestId == "" {
			t.Errorf("%v: %d %s", c.form, status, body)
		}
	}
}

// With verified signatures, a Query call is checked over its form as it was signed.
func TestQuerySigned(t *testing.T) {
	in := servertest.Start(t, servertest.Verified(t))
	good := &aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	status, body := query(t, in, "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"signed"}}, good)
	if status != 200 || !strings.Contains(body, "<QueueUrl>") {
		t.Fatalf("signed: %d %s", status, body)
	}
	// SQS refuses credentials with 403 and its own codes, on either protocol.
	bad := &aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: "wrong"}
	status, body = query(t, in, "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"forged"}}, bad)
	if status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("wrong secret: %d %s", status, body)
	}
	unknown := &aws.Credentials{AccessKeyID: "AKIDMALLORY", SecretAccessKey: "x"}
	status, body = query(t, in, "/", url.Values{"Action": {"ListQueues"}}, unknown)
	if status != 403 || !strings.Contains(body, "<Code>InvalidClientTokenId</Code>") ||
		!strings.Contains(body, "The security token included in the request is invalid.") {
		t.Errorf("unknown key: %d %s", status, body)
	}
	for key, want := range map[string]string{servertest.AccessKeyID: "SignatureDoesNotMatch", "AKIDMALLORY": "InvalidClientTokenId"} {
		c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
			Credentials: credentials.NewStaticCredentialsProvider(key, "wrong", "")})
		_, err := c.ListQueues(ctxT(t), &sqs.ListQueuesInput{})
		var re *awshttp.ResponseError
		if errCode(err) != want || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Errorf("JSON protocol, key %s: %v, want 403 %s", key, err, want)
		}
	}
	status, _ = query(t, in, "/", url.Values{"Action": {"ListQueues"}}, good)
	if status != 200 {
		t.Errorf("ListQueues: %d", status)
	}
}

// queryCLI is an AWS CLI that speaks the Query protocol to SQS (version 2 before 2.15, such as
// Debian's awscli 2.9), or "" when none is installed.
func queryCLI(t *testing.T) string {
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.CommandContext(t.Context(), path, "--version").CombinedOutput()
		m := regexp.MustCompile(`aws-cli/2\.(\d+)\.`).FindSubmatch(out)
		if err != nil || m == nil {
			continue
		}
		if minor, _ := strconv.Atoi(string(m[1])); minor < 15 {
			return path
		}
	}
	return ""
}

// Debian's AWS CLI (2.9, which speaks Query to SQS) drives the queues as a user would.
func TestQueryProtocolAWSCLI(t *testing.T) {
	cli := queryCLI(t)
	if cli == "" {
		if os.Getenv("CONVEYOR_REQUIRE_QUERY_CLI") != "" {
			t.Fatal("no AWS CLI speaking the Query protocol (apt-get install awscli), and CONVEYOR_REQUIRE_QUERY_CLI is set")
		}
		t.Skip("no AWS CLI that speaks the Query protocol to SQS (Debian's awscli 2.9; .ci/run installs it)")
	}
	in := servertest.Start(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), cli, append([]string{"--endpoint-url", in.URL, "--output", "text"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	qurl := run("sqs", "create-queue", "--queue-name", "cli", "--attributes", "VisibilityTimeout=60")
	run("sqs", "send-message", "--queue-url", qurl, "--message-body", `{"id":42}`,
		"--message-attributes", `{"k":{"DataType":"String","StringValue":"v"}}`)
	got := run("sqs", "receive-message", "--queue-url", qurl, "--message-attribute-names", "All", "--attribute-names", "All",
		"--query", "Messages[0].[Body,Attributes.SenderId,MessageAttributes.k.StringValue,ReceiptHandle]")
	fields := strings.Fields(got)
	if len(fields) != 4 || fields[0] != `{"id":42}` || fields[1] != "AKIDCLI" || fields[2] != "v" {
		t.Fatalf("receive-message: %q", got)
	}
	run("sqs", "delete-message", "--queue-url", qurl, "--receipt-handle", fields[3])
	if n := run("sqs", "get-queue-attributes", "--queue-url", qurl, "--attribute-names", "All",
		"--query", "Attributes.[VisibilityTimeout,ApproximateNumberOfMessages]"); n != "60\t0" {
		t.Errorf("get-queue-attributes: %q", n)
	}
	if urls := run("sqs", "list-queues", "--query", "QueueUrls[0]"); urls != qurl {
		t.Errorf("list-queues: %q", urls)
	}
}
