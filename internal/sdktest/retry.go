package sdktest

import (
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retryer retries, at once and up to twice, only an answer read from a
// connection the client itself closed: the Go SDK's transport race
// (aws-sdk-go-v2 #2737; a 200 whose body read fails with "use of closed
// network connection" because the client's HTTP write loop closed the
// connection), which the SDK's default retryer retries and a one-attempt
// client turns into a failed test. Every answer of the server's own, and
// every other error, is the test's to see. Set it as aws.Config.Retryer.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, net.ErrClosed) {
				return aws.TrueTernary
			}
			return aws.FalseTernary
		})}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}
