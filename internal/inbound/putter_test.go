package inbound

import "context"

// putterFunc adapts a function to Putter.
type putterFunc func(ctx context.Context, bus string, event []byte) error

func (f putterFunc) PutEvent(ctx context.Context, bus string, event []byte) error {
	if f == nil {
		return nil
	}
	return f(ctx, bus, event)
}
