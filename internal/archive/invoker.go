package archive

import (
	"bytes"
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/store"
)

// Invoker returns the delivery invoker that stores the jobs of archive
// targets (an archive's managed rule) in the archive's stream and hands
// every other job to next. It takes batches (delivery.BatchInvoker): an
// archive's jobs are stored together, next's targets' go to next's
// InvokeBatch where next takes batches.
func (s *Service) Invoker(next delivery.Invoker) delivery.BatchInvoker {
	b, _ := next.(delivery.BatchInvoker)
	return &invoker{s: s, next: next, nextBatch: b}
}

type invoker struct {
	s         *Service
	next      delivery.Invoker
	nextBatch delivery.BatchInvoker // next, when it takes batches
}

func (i *invoker) Invoke(ctx context.Context, job *delivery.Job) error {
	if _, _, ok := archiveOfARN(job.TargetARN); !ok {
		return i.next.Invoke(ctx, job)
	}
	var errs [1]error
	i.s.appendAll(ctx, []*delivery.Job{job}, errs[:])
	return errs[0]
}

func (i *invoker) Batches(job *delivery.Job) bool {
	if _, _, ok := archiveOfARN(job.TargetARN); ok {
		return true
	}
	return i.nextBatch != nil && i.nextBatch.Batches(job)
}

func (i *invoker) InvokeBatch(ctx context.Context, jobs []*delivery.Job, errs []error) {
	archived := 0
	for _, job := range jobs {
		if _, _, ok := archiveOfARN(job.TargetARN); ok {
			archived++
		}
	}
	switch {
	case archived == len(jobs):
		i.s.appendAll(ctx, jobs, errs)
	case archived == 0 && i.nextBatch != nil:
		i.nextBatch.InvokeBatch(ctx, jobs, errs)
	default: // a mix (a target whose ARN changed): each on its own
		for k, job := range jobs {
			errs[k] = i.Invoke(ctx, job)
		}
	}
}

// appendAll stores the events of jobs (each an archive target's) in their
// archives, once per event id, their writes in flight together; errs[i] is
// jobs[i]'s outcome. Replayed events are not archived.
func (s *Service) appendAll(ctx context.Context, jobs []*delivery.Job, errs []error) {
	futures := make([]*store.AckFuture, len(jobs))
	names := make([]string, len(jobs))
	for i, job := range jobs {
		sc, name, _ := archiveOfARN(job.TargetARN)
		names[i] = s.key(sc, name)
		if bytes.Contains(job.Payload, []byte(`"replay-name"`)) {
			if e, err := event.Parse(job.Payload); err == nil && e.ReplayName != "" {
				continue // replayed events are not archived
			}
		}
		msg := &nats.Msg{Subject: Subject(names[i]), Data: job.Payload, Header: nats.Header{}}
		if job.EventID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, job.EventID)
		}
		futures[i], errs[i] = s.cfg.Store.PublishAsync(msg)
	}
	for i, f := range futures {
		err := errs[i]
		if f != nil {
			_, err = f.Wait(ctx)
		}
		errs[i] = appendError(names[i], err)
	}
}

// appendError is the delivery error of storing an event in archive name
// (nil when stored).
func appendError(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound):
		return delivery.Errorf(delivery.CodeResourceNotFound, false, "archive %s does not exist", name)
	default:
		return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Message: "storing an event in archive " + name + ": " + err.Error(), Err: err}
	}
}
