package awsapi

//go:generate go run ./internal/errgen -in errors.json -out errors_gen.go

import (
	"fmt"
	"net/http"
)

// Fault says whose side an error is on, as AWS's SDKs classify errors.
type Fault uint8

// Faults.
const (
	FaultClient Fault = iota // the caller sent something wrong (4xx)
	FaultServer              // the server failed (5xx)
)

func (f Fault) String() string {
	if f == FaultServer {
		return "server"
	}
	return "client"
}

// ErrorInfo is one row of the exception table (errors.json): an AWS error code as a service
// reports it.
type ErrorInfo struct {
	Code        string // the __type clients map to a typed error, e.g. ResourceNotFoundException
	Service     string // "common", "events", "cloudtrail" or "sqs"
	Status      int    // HTTP status
	Fault       Fault
	QueryCode   string // SQS only: the awsQuery error code sent in x-amzn-query-error
	Message     string // default message, if AWS uses a fixed one
	Description string // what the error means (from AWS's API model)
}

// Error is an AWS error: it is written as {"__type": Code, "message": Message} with HTTP status
// Status. Handlers return it (or wrap it) to answer with an AWS error; any other error becomes
// an internal failure.
type Error struct {
	Code    string
	Message string
	Status  int

	// fromTable is set when Status came from the table (Errorf/NewError), so that the server may
	// use the calling service's own status for the code (SQS answers some codes with 404/403).
	fromTable bool
}

// Error implements error as "Code: Message".
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// ErrorCode returns the code (the same method name smithy's API errors have).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage returns the message.
func (e *Error) ErrorMessage() string { return e.Message }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, awsapi.NewError(awsapi.CodeResourceNotFoundException)) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an AWS error with the given code, the formatted message and the HTTP status of
// the code in the exception table (400 for a code the table lacks, which is a bug: the
// table test lists all codes used).
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: StatusOf(code), fromTable: true}
}

// NewError returns the AWS error for code with the table's default message (empty for codes
// without one).
func NewError(code string) *Error {
	info, _ := LookupError("", code)
	return &Error{Code: code, Message: info.Message, Status: StatusOf(code), fromTable: true}
}

// ValidationError returns a ValidationException with msg as its message.
func ValidationError(msg string) *Error { return Errorf(CodeValidationException, "%s", msg) }

// errorIndex maps service → code → row; service "" holds the generic view (common entries
// first, then the first service-specific entry in table order).
type errorIndex map[string]map[string]*ErrorInfo

var errorsByService = func() errorIndex {
	idx := errorIndex{"": {}}
	for i := range errorTable {
		e := &errorTable[i]
		if idx[e.Service] == nil {
			idx[e.Service] = map[string]*ErrorInfo{}
		}
		idx[e.Service][e.Code] = e
		if g, ok := idx[""][e.Code]; !ok || (g.Service != "common" && e.Service == "common") {
			idx[""][e.Code] = e
		}
	}
	return idx
}()

// LookupError returns the exception table's row for code as service reports it: the service's
// own row if it has one, else the common row, else (service "") any row.
func LookupError(service, code string) (ErrorInfo, bool) {
	if service != "" {
		if e, ok := errorsByService[service][code]; ok {
			return *e, true
		}
		if e, ok := errorsByService["common"][code]; ok {
			return *e, true
		}
	}
	if e, ok := errorsByService[""][code]; ok {
		return *e, true
	}
	return ErrorInfo{}, false
}

// StatusOf returns the HTTP status of code in the table (400 if the table lacks it).
func StatusOf(code string) int {
	if e, ok := errorsByService[""][code]; ok {
		return e.Status
	}
	return http.StatusBadRequest
}

// ErrorTable returns a copy of the whole exception table, in errors.json's order.
func ErrorTable() []ErrorInfo {
	return append([]ErrorInfo(nil), errorTable[:]...)
}
