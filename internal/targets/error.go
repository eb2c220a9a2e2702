package targets

import (
	"errors"
	"fmt"

	"github.com/conveyor/conveyor/internal/delivery"
)

// Invoker delivers a job; it is the delivery runner's interface.
type Invoker = delivery.Invoker

// classify turns an error from a caller-supplied dependency into an *delivery.Error.
func classify(err error, what string) error {
	var te *delivery.Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, delivery.ErrNotFound) {
		return &delivery.Error{Code: delivery.CodeResourceNotFound, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
	}
	return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
}
