// Package awsapi is Conveyor's AWS JSON protocol layer (JSON 1.1 and 1.0, as EventBridge,
// CloudTrail and SQS speak it): X-Amz-Target routing, request decoding into typed handler
// inputs, AWS-shaped errors from one exception table (errors.json, generated into
// errors_gen.go), AWS's validation messages, the caller's identity from the SigV4
// Authorization header, and observers that see every call (for CloudTrail records and
// metrics).
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
// The package holds no service logic and does not verify signatures itself: an Authenticator
// can be plugged into the Server for that.
package awsapi
