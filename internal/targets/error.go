package targets

import (
	"errors"
	"fmt"

	"github.com/conveyor/conveyor/internal/delivery"
)

// Invoker delivers a job; it is the delivery runner's interface.
type Invoker = delivery.Invoker

// Error codes of failed invocations (the ERROR_CODE attribute of
// dead-letter messages), as EventBridge names them.
const (
	CodeClientError      = delivery.CodeClientError      // SDK_CLIENT_ERROR: the call failed (network, HTTP error status)
	CodeThrottling       = "THROTTLING"                  // the target asked us to slow down (HTTP 429)
	CodeResourceNotFound = "RESOURCE_NOT_FOUND"          // the target (API destination, bus, connection) does not exist
	CodeInvalidParameter = delivery.CodeInvalidParameter // the target's configuration cannot work (bad ARN, bad endpoint)
	CodeNoPermissions    = "NO_PERMISSIONS"              // the connection is not authorized
)

// Error is a failed invocation.
type Error struct {
	// Code is the AWS-style error code, one of the Code constants.
	Code string
	// Message says what happened, e.g. the HTTP status the endpoint returned.
	Message string
	// Retry tells whether trying again later may succeed.
	Retry bool
	// StatusCode is the HTTP status of the target's response, 0 when there
	// was none.
	StatusCode int
	// Err is the underlying error, if any.
	Err error
}

var _ delivery.Failure = (*Error)(nil)

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether a later attempt may succeed.
func (e *Error) Retryable() bool { return e.Retry }

// ErrorCode is the AWS-style error code.
func (e *Error) ErrorCode() string { return e.Code }

// Errorf returns a *Error with code and a formatted message.
func Errorf(code string, retry bool, format string, args ...any) *Error {
	return &Error{Code: code, Retry: retry, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is what Destinations.Lookup and Putter.PutEvent wrap when the
// destination or bus does not exist; the adapters turn it into a
// non-retryable RESOURCE_NOT_FOUND failure.
var ErrNotFound = errors.New("not found")

// classify turns an error from a caller-supplied dependency into an *Error.
func classify(err error, what string) error {
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, ErrNotFound) {
		return &Error{Code: CodeResourceNotFound, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
	}
	return &Error{Code: CodeClientError, Retry: true, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
}
