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
// every other job to next. It takes batches (delivery.BatchInvoker) where
// next does, for next's targets.
func (s *Service) Invoker(next delivery.Invoker) delivery.Invoker {
	inv := &invoker{s: s, next: next}
	if b, ok := next.(delivery.BatchInvoker); ok {
		return &batchInvoker{invoker: inv, next: b}
	}
	return inv
}

type invoker struct {
	s    *Service
	next delivery.Invoker
}

func (i *invoker) Invoke(ctx context.Context, job *delivery.Job) error {
	sc, name, ok := archiveOfARN(job.TargetARN)
	if !ok {
		return i.next.Invoke(ctx, job)
	}
	return i.s.append(ctx, i.s.key(sc, name), job)
}

type batchInvoker struct {
	*invoker
	next delivery.BatchInvoker
}

func (b *batchInvoker) Batches(job *delivery.Job) bool {
	if _, _, ok := archiveOfARN(job.TargetARN); ok {
		return false
	}
	return b.next.Batches(job)
}

func (b *batchInvoker) InvokeBatch(ctx context.Context, jobs []*delivery.Job, errs []error) {
	for _, job := range jobs {
		if _, _, ok := archiveOfARN(job.TargetARN); ok {
			// Not one of next's batches: each on its own.
			for i, job := range jobs {
				errs[i] = b.Invoke(ctx, job)
			}
			return
		}
	}
	b.next.InvokeBatch(ctx, jobs, errs)
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
	_, err := s.cfg.Store.Publish(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return delivery.Errorf(delivery.CodeResourceNotFound, false, "archive %s does not exist", name)
	}
	if err != nil {
		return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Message: "storing an event in archive " + name + ": " + err.Error(), Err: err}
	}
	return nil
}
