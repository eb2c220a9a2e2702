package awsapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// Wire shapes of the operations the test server implements (as the handler writers will).
type describeEventBusInput struct {
	Name *string `json:"Name"`
}

type describeEventBusOutput struct {
	Arn              string            `json:"Arn"`
	Name             string            `json:"Name"`
	CreationTime     awsapi.Timestamp  `json:"CreationTime,omitzero"`
	LastModifiedTime *awsapi.Timestamp `json:"LastModifiedTime,omitempty"`
}

type putEventsEntry struct {
	Source     *string           `json:"Source"`
	DetailType *string           `json:"DetailType"`
	Detail     *string           `json:"Detail"`
	Time       *awsapi.Timestamp `json:"Time"`
}

type putEventsInput struct {
	Entries []putEventsEntry `json:"Entries"`
}

type putEventsResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int                    `json:"FailedEntryCount"`
	Entries          []putEventsResultEntry `json:"Entries"`
}

type lookupEventsInput struct {
	MaxResults *int32            `json:"MaxResults"`
	StartTime  *awsapi.Timestamp `json:"StartTime"`
}

type lookupEvent struct {
	EventId   string           `json:"EventId"`
	EventName string           `json:"EventName"`
	EventTime awsapi.Timestamp `json:"EventTime"`
}

type lookupEventsOutput struct {
	Events []lookupEvent `json:"Events"`
}

type getQueueURLInput struct {
	QueueName string `json:"QueueName"`
}

type getQueueURLOutput struct {
	QueueUrl string `json:"QueueUrl"`
}

var created = time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC)

// testServer starts the three services on 127.0.0.1:0 with a few real operations.
func testServer(t *testing.T) (*httptest.Server, *callLog) {
	t.Helper()
	eb, ct, q := awsapi.NewEventBridge(), awsapi.NewCloudTrail(), awsapi.NewSQS()
	awsapi.Handle(eb, "DescribeEventBus", func(ctx context.Context, in *describeEventBusInput) (*describeEventBusOutput, error) {
		name := aws.ToString(in.Name)
		if name == "" {
			name = "default"
		}
		if name != "default" {
			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", name)
		}
		c := awsapi.CallerFrom(ctx)
		return &describeEventBusOutput{
			Arn:          "arn:aws:events:" + c.Region + ":000000000000:event-bus/default",
			Name:         name,
			CreationTime: awsapi.NewTimestamp(created),
		}, nil
	})
	awsapi.Handle(eb, "PutEvents", func(ctx context.Context, in *putEventsInput) (*putEventsOutput, error) {
		v := awsapi.NewValidator()
		v.Count("entries", len(in.Entries), "[…]", 1, 10)
		if err := v.Err(); err != nil {
			return nil, err
		}
		out := &putEventsOutput{}
		for _, e := range in.Entries {
			if e.Time == nil || !e.Time.Equal(created) {
				out.FailedEntryCount++
				out.Entries = append(out.Entries, putEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "wrong time"})
				continue
			}
			out.Entries = append(out.Entries, putEventsResultEntry{EventId: "id-1"})
		}
		return out, nil
	})
	awsapi.Handle(eb, "DeleteRule", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, errors.New("disk on fire")
	})
	awsapi.Handle(eb, "EnableRule", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		panic("boom")
	})
	awsapi.Handle(ct, "LookupEvents", func(ctx context.Context, in *lookupEventsInput) (*lookupEventsOutput, error) {
		if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50) {
			return nil, awsapi.Errorf(awsapi.CodeInvalidMaxResultsException, "MaxResults must be between 1 and 50.")
		}
		return &lookupEventsOutput{Events: []lookupEvent{{EventId: "e1", EventName: "PutRule", EventTime: awsapi.NewTimestamp(created)}}}, nil
	})
	awsapi.Handle(q, "GetQueueUrl", func(ctx context.Context, in *getQueueURLInput) (*getQueueURLOutput, error) {
		if in.QueueName != "q1" {
			return nil, awsapi.Errorf(awsapi.CodeQueueDoesNotExist, "The specified queue does not exist.")
		}
		return &getQueueURLOutput{QueueUrl: "http://localhost/000000000000/q1"}, nil
	})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, eb, ct, q)
	if err != nil {
		t.Fatal(err)
	}
	log := &callLog{}
	srv.Observe(log.observe)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, log
}

type callLog struct {
	mu    sync.Mutex
	calls []*awsapi.Call
	seen  int
}

func (l *callLog) observe(_ context.Context, c *awsapi.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// next waits for the next observed call (observers run after the response is flushed, so a
// client can see its answer before the observer has run).
func (l *callLog) next(t *testing.T) *awsapi.Call {
	t.Helper()
	var c *awsapi.Call
	waitfor.Within(t, 5*time.Second, "a call observed", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.calls) == l.seen {
			return false
		}
		c = l.calls[l.seen]
		l.seen++
		return true
	})
	return c
}

func awsConfig(url string) aws.Config {
	return aws.Config{
		Region:       "eu-west-3",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      sdktest.Retryer,
	}
}

func TestSDKEventBridge(t *testing.T) {
	hs, log := testServer(t)
	ctx := t.Context()
	c := eventbridge.NewFromConfig(awsConfig(hs.URL))

	out, err := c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Name) != "default" || !out.CreationTime.Equal(created) {
		t.Errorf("DescribeEventBus = %q %v, want default %v", aws.ToString(out.Name), out.CreationTime, created)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:events:eu-west-3:000000000000:event-bus/default" {
		t.Errorf("Arn from caller region = %q", got)
	}
	if c := log.next(t); c.Caller.AccessKeyID != "AKIDTEST" || c.Caller.Region != "eu-west-3" || c.Caller.Service != "events" ||
		c.Operation != "DescribeEventBus" || c.Status != 200 || c.Err != nil || c.Caller.SourceIP != "127.0.0.1" ||
		!strings.Contains(c.Caller.UserAgent, "aws-sdk-go-v2") {
		t.Errorf("observed call = %+v", c)
	}

	_, err = c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	var nf *ebtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeEventBus(nope) err = %T %v, want *types.ResourceNotFoundException", err, err)
	}
	if nf.ErrorMessage() != "Event bus nope does not exist." || nf.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("error = %q %q", nf.ErrorCode(), nf.ErrorMessage())
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("status of ResourceNotFoundException not 400: %v", err)
	}
	if c := log.next(t); c.Err == nil || c.Err.Code != "ResourceNotFoundException" || c.Status != 400 {
		t.Errorf("observed error call = %+v", c)
	}

	pe, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String("{}"), Time: aws.Time(created)},
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String("{}"), Time: aws.Time(created.Add(time.Millisecond))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if pe.FailedEntryCount != 1 || aws.ToString(pe.Entries[0].EventId) != "id-1" || aws.ToString(pe.Entries[1].ErrorCode) != "InvalidArgument" {
		t.Errorf("PutEvents = %+v", pe)
	}

	_, err = c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: make([]ebtypes.PutEventsRequestEntry, 11)})
	var ve *smithy.GenericAPIError
	if !errors.As(err, &ve) || ve.Code != "ValidationException" ||
		ve.Message != "1 validation error detected: Value '[…]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10" {
		t.Errorf("PutEvents() err = %v", err)
	}

	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r")})
	var ie *ebtypes.InternalException
	if !errors.As(err, &ie) || strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("DeleteRule err = %v, want InternalException without the cause", err)
	}
	_, err = c.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("r")})
	if !errors.As(err, &ie) {
		t.Errorf("EnableRule (panics) err = %v, want InternalException", err)
	}
	for range 3 { // PutEvents, PutEvents, DeleteRule
		log.next(t)
	}
	if c := log.next(t); c.Status != 500 || c.Err.Code != "InternalException" || c.Operation != "EnableRule" {
		t.Errorf("observed panic call = %+v", c)
	}

	_, err = c.ListRules(ctx, &eventbridge.ListRulesInput{})
	var ge smithy.APIError
	if !errors.As(err, &ge) || ge.ErrorCode() != "UnknownOperationException" {
		t.Errorf("ListRules (unregistered) err = %v", err)
	}
}

func TestSDKCloudTrail(t *testing.T) {
	hs, log := testServer(t)
	c := cloudtrail.NewFromConfig(awsConfig(hs.URL))
	out, err := c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{StartTime: aws.Time(created)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || !out.Events[0].EventTime.Equal(created) || aws.ToString(out.Events[0].EventName) != "PutRule" {
		t.Errorf("LookupEvents = %+v", out.Events)
	}
	if l := log.next(t); l.Service != "cloudtrail" || l.Target != "CloudTrail_20131101.LookupEvents" ||
		!l.Input.(*lookupEventsInput).StartTime.Equal(created) {
		t.Errorf("observed = %+v", l)
	}
	_, err = c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	var mr *cttypes.InvalidMaxResultsException
	if !errors.As(err, &mr) || mr.ErrorMessage() != "MaxResults must be between 1 and 50." {
		t.Errorf("err = %v, want InvalidMaxResultsException", err)
	}
}

func TestSDKSQS(t *testing.T) {
	hs, _ := testServer(t)
	c := sqs.NewFromConfig(awsConfig(hs.URL))
	out, err := c.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("q1")})
	if err != nil || aws.ToString(out.QueueUrl) != "http://localhost/000000000000/q1" {
		t.Fatalf("GetQueueUrl = %v, %v", out, err)
	}
	_, err = c.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("q2")})
	var qe *sqstypes.QueueDoesNotExist
	if !errors.As(err, &qe) {
		t.Fatalf("err = %T %v, want *types.QueueDoesNotExist", err, err)
	}
	if qe.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" || qe.ErrorMessage() != "The specified queue does not exist." ||
		qe.ErrorFault() != smithy.FaultClient {
		t.Errorf("QueueDoesNotExist code %q message %q fault %v", qe.ErrorCode(), qe.ErrorMessage(), qe.ErrorFault())
	}
}

// The CLI's CloudTrail target spelling reaches the same operation.
func TestCloudTrailLongTarget(t *testing.T) {
	hs, _ := testServer(t)
	req, _ := http.NewRequest("POST", hs.URL+"/", strings.NewReader(`{"MaxResults": 5}`))
	req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}
