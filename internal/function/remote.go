package function

import (
	"github.com/conveyor/conveyor/internal/delivery"

	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// RemoteConfig says where and how to call the AWS Lambda API.
type RemoteConfig struct {
	// Endpoint is the Lambda API's base URL, e.g.
	// https://lambda.us-east-1.amazonaws.com, or that of anything that
	// speaks the Lambda API.
	Endpoint string
	// Region is the region requests are signed for.
	Region string
	// Credentials sign the requests; nil means the SDK's default chain
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, …).
	Credentials aws.CredentialsProvider
	// HTTPClient sends the requests (nil: the SDK's).
	HTTPClient aws.HTTPClient
}

// Remote invokes functions through the AWS Lambda Invoke API, asynchronously
// (InvocationType Event), as EventBridge does.
type Remote struct {
	client   *lambda.Client
	endpoint string
}

// NewRemote returns a Lambda API client for cfg.
func NewRemote(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("function: the Lambda endpoint is empty")
	}
	if cfg.Region == "" {
		return nil, errors.New("function: the Lambda region is empty")
	}
	creds := cfg.Credentials
	if creds == nil {
		ac, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("function: Lambda credentials: %w", err)
		}
		creds = ac.Credentials
	}
	opts := lambda.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		Credentials:  creds,
		// The delivery runner retries, with the target's RetryPolicy.
		Retryer: aws.NopRetryer{},
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	return &Remote{client: lambda.New(opts), endpoint: cfg.Endpoint}, nil
}

// Invoke invokes the function arn names (a full ARN, qualifier included,
// as the FunctionName) with payload as its event. Lambda answers 202 when
// it queued the event. Throttling (429), server errors (5xx) and network
// failures are worth a retry; other refusals (the function does not exist,
// no permission, a bad request) are not.
func (r *Remote) Invoke(ctx context.Context, arn string, payload []byte) error {
	out, err := r.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(arn),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return classify(arn, err)
	}
	if out.StatusCode < 200 || out.StatusCode >= 300 {
		return &delivery.Error{Code: delivery.CodeClientError, Retry: out.StatusCode >= 500, StatusCode: int(out.StatusCode),
			Message: fmt.Sprintf("Lambda Invoke of %s answered HTTP %d", arn, out.StatusCode)}
	}
	return nil
}

// classify turns an error of the Lambda client into a *delivery.Error.
func classify(arn string, err error) error {
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	msg := err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg = ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	msg = fmt.Sprintf("Lambda Invoke of %s: %s", arn, msg)
	e := &delivery.Error{Code: delivery.CodeClientError, StatusCode: status, Message: msg, Err: err}
	switch {
	case status == 0:
		// No answer: the network, a timeout, the endpoint down.
		e.Retry = true
	case status == http.StatusTooManyRequests:
		e.Code, e.Retry = delivery.CodeThrottling, true
	case status >= 500:
		e.Retry = true
	case status == http.StatusNotFound:
		e.Code = delivery.CodeResourceNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = delivery.CodeNoPermissions
	}
	return e
}
