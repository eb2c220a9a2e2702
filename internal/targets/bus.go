package targets

import (
	"context"

	"github.com/conveyor/conveyor/internal/delivery"
)

// Putter puts an event (the EventBridge envelope as JSON) on the bus with
// ARN busARN, routing it there as PutEvents would. The server implements it
// with the router. It wraps [delivery.ErrNotFound] when the bus does not exist.
type Putter interface {
	PutEvent(ctx context.Context, busARN string, event []byte) error
}

// Bus delivers to another event bus.
type Bus struct{ putter Putter }

// NewBus returns the event-bus adapter.
func NewBus(p Putter) *Bus { return &Bus{putter: p} }

// Invoke puts the job's payload on the bus its target ARN names.
func (b *Bus) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil || a.Kind != KindBus {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "target %s is not an event bus ARN", job.TargetARN)
	}
	if b.putter == nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "event bus targets are not configured")
	}
	if err := b.putter.PutEvent(ctx, job.TargetARN, job.Payload); err != nil {
		return classify(err, "put event on bus "+a.Name)
	}
	return nil
}
