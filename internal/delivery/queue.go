package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
)

// TargetKey identifies a rule target: the bus, the rule's name and the
// target's Id.
type TargetKey struct {
	Bus  string
	Rule string
	ID   string
}

func (k TargetKey) String() string { return k.Bus + "/" + k.Rule + "/" + k.ID }

// Subject is the delivery-stream subject of the target's jobs.
func (k TargetKey) Subject() string { return store.DeliverySubject(k.Bus, k.Rule, k.ID) }

// Consumer is the name of the target's durable consumer.
func (k TargetKey) Consumer() string { return store.DeliveryConsumer(k.Bus, k.Rule, k.ID) }

// Queue is the delivery stream: jobs wait there until their target's
// consumer acknowledges them.
type Queue struct {
	st *store.Store
	js jetstream.JetStream
}

// NewQueue ensures the delivery stream exists on st and returns its queue.
func NewQueue(ctx context.Context, st *store.Store) (*Queue, error) {
	_, err := st.EnsureStream(ctx, jetstream.StreamConfig{
		Name:        store.DeliveryStream,
		Description: "Conveyor delivery jobs, one subject per rule target",
		Subjects:    []string{store.DeliverySubjects},
		// A job leaves the stream when its target's consumer acks it.
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Discard:    jetstream.DiscardNew,
		MaxMsgs:    -1,
		MaxBytes:   -1,
		Replicas:   st.Replicas(),
		Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: ensure stream %s: %w", store.DeliveryStream, err)
	}
	return &Queue{st: st, js: st.JetStream()}, nil
}

// Store is the store the queue lives in.
func (q *Queue) Store() *store.Store { return q.st }

// msgID is the job's message id: the same event enqueued twice for the same
// target within the duplicate window (a router redelivery) is stored once.
func msgID(j *Job) string { return msgIDFor(j, j.Key().Subject()) }

func msgIDFor(j *Job, subject string) string { return j.EventID + " " + subject }

// Enqueue stores jobs in the delivery stream and returns once JetStream has
// stored all of them (publishes are pipelined). On error, some jobs may be
// stored and others not; enqueueing them all again is safe (dedup by event
// id and target within two minutes, and delivery is at least once anyway).
func (q *Queue) Enqueue(ctx context.Context, jobs ...*Job) error {
	futures := make([]*store.AckFuture, 0, len(jobs))
	keys := make([]TargetKey, 0, len(jobs))
	var errs []error
	for _, j := range jobs {
		m, err := jobMsg(j)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := q.st.PublishAsync(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("delivery: enqueue job for %s: %w", j.Key(), err))
			continue
		}
		futures, keys = append(futures, f), append(keys, j.Key())
	}
	for i, f := range futures {
		if _, err := f.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("delivery: enqueue: %w", ctx.Err())
			}
			errs = append(errs, fmt.Errorf("delivery: enqueue job for %s: %w", keys[i], err))
		}
	}
	return errors.Join(errs...)
}

func jobMsg(j *Job) (*nats.Msg, error) {
	if j.EventID == "" {
		return nil, errors.New("delivery: job without an event id")
	}
	data, err := j.MarshalBinary()
	if err != nil {
		return nil, err
	}
	subj := j.Key().Subject()
	return &nats.Msg{
		Subject: subj,
		Data:    data,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{msgIDFor(j, subj)}},
	}, nil
}

// DropTarget deletes the target's consumer and every job still waiting for
// it: what RemoveTargets (or deleting the rule or bus) means for deliveries
// not made yet. Stop the target in the runners first.
func (q *Queue) DropTarget(ctx context.Context, k TargetKey) error {
	err := q.js.DeleteConsumer(ctx, store.DeliveryStream, k.Consumer())
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delivery: drop target %s: %w", k, err)
	}
	st, err := q.js.Stream(ctx, store.DeliveryStream)
	if err != nil {
		return fmt.Errorf("delivery: drop target %s: %w", k, err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(k.Subject())); err != nil {
		return fmt.Errorf("delivery: drop target %s: purge: %w", k, err)
	}
	return nil
}

// Pending returns the number of jobs stored for the target and not yet
// acknowledged.
func (q *Queue) Pending(ctx context.Context, k TargetKey) (uint64, error) {
	st, err := q.js.Stream(ctx, store.DeliveryStream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(k.Subject()))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[k.Subject()], nil
}
