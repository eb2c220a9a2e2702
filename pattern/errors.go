package pattern

import "fmt"

// An InvalidPatternError reports a pattern that is not valid. Reason is
// AWS's own reason text where AWS has one (EventBridge answers
// InvalidEventPatternException with the message Error returns).
type InvalidPatternError struct {
	Reason string
}

func (e *InvalidPatternError) Error() string {
	return "Event pattern is not valid. Reason: " + e.Reason
}

// A PatternTooLongError reports a pattern longer than the limit set with
// WithMaxLength. Length and Max count characters as AWS does (UTF-16 code
// units: a character outside the Basic Multilingual Plane counts twice).
//
// EventBridge checks the length of EventPattern before it looks at the
// pattern, and answers a ValidationException; Error returns the message of
// AWS's request-validation layer for that constraint, so a server can send it
// as it is.
type PatternTooLongError struct {
	Length, Max int
}

func (e *PatternTooLongError) Error() string {
	return fmt.Sprintf("1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to %d", e.Max)
}

// An InvalidEventError reports an event that TestEventPattern cannot take: not
// JSON, not a JSON object, or without one of the envelope fields AWS requires.
// Error returns exactly AWS's message (a ValidationException); Reason says
// what was wrong, for logs.
type InvalidEventError struct {
	Reason string
}

func (e *InvalidEventError) Error() string {
	return "Parameter Event is not valid."
}

func invalid(reason string) error {
	return &InvalidPatternError{Reason: reason}
}

func invalidf(format string, args ...any) error {
	return &InvalidPatternError{Reason: fmt.Sprintf(format, args...)}
}
