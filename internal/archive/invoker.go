package archive

import (
	"bytes"
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
)

// Invoker returns the delivery invoker that stores the jobs of archive
// targets (an archive's managed rule) in the archive's stream and hands
// every other job to next.
func (s *Service) Invoker(next delivery.Invoker) delivery.Invoker {
	return delivery.InvokerFunc(func(ctx context.Context, job *delivery.Job) error {
		sc, name, ok := archiveOfARN(job.TargetARN)
		if !ok {
			return next.Invoke(ctx, job)
		}
		return s.append(ctx, s.key(sc, name), job)
	})
}

// append stores the job's event in the archive with key name (see key),
// once per event id.
func (s *Service) append(ctx context.Context, name string, job *delivery.Job) error {
	if bytes.Contains(job.Payload, []byte(`"replay-name"`)) {
		if e, err := event.Parse(job.Payload); err == nil && e.ReplayName != "" {
			return nil // replayed events are not archived
		}
	}
	msg := &nats.Msg{Subject: Subject(name), Data: job.Payload, Header: nats.Header{}}
	if job.EventID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, job.EventID)
	}
	_, err := s.js.PublishMsg(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return delivery.Errorf(delivery.CodeResourceNotFound, false, "archive %s does not exist", name)
	}
	if err != nil {
		return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Message: "storing an event in archive " + name + ": " + err.Error(), Err: err}
	}
	return nil
}
