package lambda_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/conveyor/conveyor/internal/awsapi"
	conveyorlambda "github.com/conveyor/conveyor/internal/lambda"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// BenchmarkQueueToFunction is the throughput of an SQS event source mapping: a queue full of
// messages drained through an aws-lambda-go function with batches of 10 (target: 5,000
// messages/s). One op is one message.
func BenchmarkQueueToFunction(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	st := storetest.Open(b)
	queues, err := sqs.New(ctx, sqs.Config{Store: st, Account: "123456789012", Region: "us-east-1", Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(queues.Close)
	fns, err := conveyorlambda.New(ctx, conveyorlambda.Config{Store: st, Account: "123456789012", Region: "us-east-1",
		Logger: quiet, CodeDir: b.TempDir(), Queues: queues})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fns.Close)
	sqsAPI, conv, lambdaAPI := awsapi.NewSQS(), sqs.NewConveyorService(), awsapi.NewLambda()
	queues.Register(sqsAPI, conv)
	fns.Register(lambdaAPI)
	srv, err := awsapi.NewServer(awsapi.Config{Logger: quiet, Account: "123456789012", Region: "us-east-1"}, sqsAPI, conv, lambdaAPI)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", "")}
	qc, lc := awssqs.NewFromConfig(cfg), lambda.NewFromConfig(cfg)
	q, err := qc.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		b.Fatal(err)
	}
	createEcho(b, lc, echoBootstrap(b))
	n := b.N
	for i := 0; i < n; i += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for j := i; j < min(i+10, n); j++ {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(fmt.Sprintf(`{"name":"%d"}`, j))})
		}
		if _, err := qc.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("echo"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:orders"), BatchSize: aws.Int32(10)}); err != nil {
		b.Fatal(err)
	}
	for {
		a, err := qc.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			b.Fatal(err)
		}
		if a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	_ = types.RuntimeProvidedal2023
}
