package delivery

import (
	"errors"
	"fmt"
)

// Error codes of failed invocations (the ERROR_CODE attribute of dead-letter messages), as
// EventBridge names them: the one vocabulary of every target and invoker.
const (
	// CodeClientError: the call failed (network, HTTP error status); also the code of
	// failures that do not classify themselves.
	CodeClientError = "SDK_CLIENT_ERROR"
	// CodeThrottling: the target asked us to slow down (HTTP 429).
	CodeThrottling = "THROTTLING"
	// CodeResourceNotFound: the target (API destination, bus, connection, queue, function)
	// does not exist.
	CodeResourceNotFound = "RESOURCE_NOT_FOUND"
	// CodeInvalidParameter: the target's settings cannot work for an event (a bad ARN or
	// endpoint, a transformed input too large): no attempt is made, and none would succeed.
	CodeInvalidParameter = "INVALID_PARAMETER"
	// CodeNoPermissions: the target refuses the rule (a deauthorized connection, another
	// account's resource policy).
	CodeNoPermissions = "NO_PERMISSIONS"
)

// Error is a failed invocation that classifies itself (a Failure).
type Error struct {
	// Code is the AWS-style error code, one of the Code constants.
	Code string
	// Message says what happened, e.g. the HTTP status the endpoint returned.
	Message string
	// Retry tells whether trying again later may succeed.
	Retry bool
	// StatusCode is the HTTP status of the target's response, 0 when there was none.
	StatusCode int
	// Err is the underlying error, if any.
	Err error
}

var _ Failure = (*Error)(nil)

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

// Errorf returns an *Error with code and a formatted message.
func Errorf(code string, retry bool, format string, args ...any) *Error {
	return &Error{Code: code, Retry: retry, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is what a lookup a target depends on wraps when the destination, bus, queue or
// function does not exist; it is a non-retryable RESOURCE_NOT_FOUND failure.
var ErrNotFound = errors.New("not found")
