// Package awsapi is Conveyor's AWS JSON protocol layer.
//
// It serves JSON 1.1 and 1.0, as EventBridge, CloudTrail and SQS speak them: X-Amz-Target routing, request decoding into typed handler
// inputs, AWS-shaped errors from one exception table (errors.json, generated into
// errors_gen.go), AWS's validation messages, the caller's identity from the SigV4
// Authorization header, and observers that see every call (for CloudTrail records and
// metrics). Member names are matched exactly, as AWS does (encoding/json alone would let
// "PASSWORD" fill Password), and request bodies are bounded per operation (RequestLimit).
//
// Handlers are plain functions from a decoded input struct to an output struct or an *Error:
//
//	svc := awsapi.NewEventBridge()
//	awsapi.Handle(svc, "DescribeEventBus", func(ctx context.Context, in *DescribeEventBusInput) (*DescribeEventBusOutput, error) {
//		if !found {
//			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", in.Name)
//		}
//		...
//	})
//	srv, err := awsapi.NewServer(awsapi.Config{Logger: log}, svc)
//
// By default every request is accepted and its SigV4 access key (if any) names the caller;
// an Authenticator plugged into Config refuses calls instead, for example SigV4Verifier, which
// checks signatures against known secrets. A Model (AWS's own input constraints, embedded for
// events, cloudtrail and sqs) set on a Service makes the server answer constraint violations
// with AWS's ValidationException before handlers run. The package holds no service logic.
package awsapi
