package sdktest_test

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/sdktest"
)

// Only an answer read from a connection the client closed is retried, up
// to three attempts in all, without waiting.
func TestRetryer(t *testing.T) {
	r := sdktest.Retryer()
	closed := fmt.Errorf("deserialization failed: %w", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})
	if !r.IsErrorRetryable(closed) {
		t.Error("a read on a connection the client closed is not retried")
	}
	for _, err := range []error{
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
		&smithy.GenericAPIError{Code: "InternalFailure"},
		&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
	} {
		if r.IsErrorRetryable(err) {
			t.Errorf("%v is retried", err)
		}
	}
	if n := r.MaxAttempts(); n != 3 {
		t.Errorf("%d attempts", n)
	}
	if d, err := r.RetryDelay(1, closed); d != 0 || err != nil {
		t.Errorf("waits %v (%v) before a retry", d, err)
	}
}
