package awsapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/awsapi"
)

func sigV4Server(t *testing.T, skew time.Duration) string {
	t.Helper()
	eb, q := awsapi.NewEventBridge(), awsapi.NewSQS()
	awsapi.Handle(eb, "DescribeEventBus", func(ctx context.Context, in *describeEventBusInput) (*describeEventBusOutput, error) {
		return &describeEventBusOutput{Name: awsapi.CallerFrom(ctx).Principal}, nil
	})
	awsapi.Handle(q, "GetQueueUrl", func(ctx context.Context, in *getQueueURLInput) (*getQueueURLOutput, error) {
		return &getQueueURLOutput{QueueUrl: "http://q/" + in.QueueName}, nil
	})
	keys := map[string]string{"AKIDALICE": "alice-secret"}
	v := &awsapi.SigV4Verifier{
		Keys: func(id string) (string, string, bool) {
			s, ok := keys[id]
			return s, "user/" + strings.ToLower(strings.TrimPrefix(id, "AKID")), ok
		},
		Now: func() time.Time { return time.Now().Add(skew) },
	}
	srv, err := awsapi.NewServer(awsapi.Config{Authenticator: v, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, eb, q)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestSigV4Verifier(t *testing.T) {
	url := sigV4Server(t, 0)
	client := func(id, secret string) *eventbridge.Client {
		cfg := awsConfig(url)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
		return eventbridge.NewFromConfig(cfg)
	}
	out, err := client("AKIDALICE", "alice-secret").DescribeEventBus(t.Context(), &eventbridge.DescribeEventBusInput{Name: aws.String("a b/c?d=e&f")})
	if err != nil || aws.ToString(out.Name) != "user/alice" {
		t.Fatalf("good signature: %v, %v", out, err)
	}
	// SQS (JSON 1.0) signs the same way.
	qcfg := awsConfig(url)
	qcfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDALICE", "alice-secret", "")
	if _, err := sqs.NewFromConfig(qcfg).GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("q")}); err != nil {
		t.Errorf("SQS good signature: %v", err)
	}
	for _, c := range []struct {
		name, id, secret, code, msg string
	}{
		{"wrong secret", "AKIDALICE", "nope", "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		{"unknown key", "AKIDBOB", "x", "UnrecognizedClientException", "The security token included in the request is invalid."},
	} {
		_, err := client(c.id, c.secret).DescribeEventBus(t.Context(), &eventbridge.DescribeEventBusInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code || ae.ErrorMessage() != c.msg {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	anon := awsConfig(url)
	anon.Credentials = aws.AnonymousCredentials{}
	_, err = eventbridge.NewFromConfig(anon).DescribeEventBus(t.Context(), &eventbridge.DescribeEventBusInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %v", err)
	}
}

func TestSigV4Skew(t *testing.T) {
	for _, skew := range []time.Duration{20 * time.Minute, -20 * time.Minute} {
		url := sigV4Server(t, skew)
		cfg := awsConfig(url)
		cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDALICE", "alice-secret", "")
		_, err := eventbridge.NewFromConfig(cfg).DescribeEventBus(t.Context(), &eventbridge.DescribeEventBusInput{})
		var ae smithy.APIError
		want := "Signature expired: "
		if skew < 0 {
			want = "Signature not yet current: "
		}
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" || !strings.HasPrefix(ae.ErrorMessage(), want) {
			t.Errorf("skew %v: %v", skew, err)
		}
	}
}

// The AWS CLI (botocore's signer) passes verification too (opt-in: the CLI is slow to start).
func TestSigV4AWSCLI(t *testing.T) {
	if os.Getenv("CONVEYOR_TEST_AWSCLI") != "1" {
		t.Skip("set CONVEYOR_TEST_AWSCLI=1 to run the AWS CLI against the server")
	}
	url := sigV4Server(t, 0)
	for _, c := range []struct {
		secret string
		ok     bool
	}{{"alice-secret", true}, {"wrong", false}} {
		cmd := exec.CommandContext(t.Context(), "aws", "--endpoint-url", url, "events", "describe-event-bus", "--name", "x")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDALICE", "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok || (!c.ok && !strings.Contains(string(out), "(InvalidSignatureException)")) {
			t.Errorf("secret %s: %v %s", c.secret, err, out)
		}
	}
}
