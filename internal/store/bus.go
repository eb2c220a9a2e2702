package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxBatch is the most messages [Store.PublishEvents] pipelines at once
// (PutEvents carries at most 10 entries).
const MaxBatch = 10

// BusMetadataKey is the stream metadata key holding a bus stream's bus name.
const BusMetadataKey = "conveyor.bus"

// EnsureBus creates the stream of bus name if it does not exist yet, and
// returns it. It is idempotent.
func (s *Store) EnsureBus(ctx context.Context, name string) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:        BusStream(name),
		Description: "Conveyor event bus " + name,
		Subjects:    []string{BusSubject(name)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      s.cfg.BusMaxAge,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Replicas:    s.cfg.Replicas,
		Duplicates:  2 * time.Minute,
		Metadata:    map[string]string{BusMetadataKey: name},
	}
	st, err := s.EnsureStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: ensure bus %q: %w", name, err)
	}
	// A bus stream made under another retention setting takes this one.
	if info := st.CachedInfo(); info != nil && info.Config.MaxAge != cfg.MaxAge {
		c := info.Config
		c.MaxAge = cfg.MaxAge
		if st, err = s.js.UpdateStream(ctx, c); err != nil {
			return nil, fmt.Errorf("store: bus %q retention: %w", name, err)
		}
	}
	return st, nil
}

// EnsureStream creates a stream with cfg, or returns the existing one of that
// name unchanged (a stream created by an older version keeps its settings).
func (s *Store) EnsureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, cfg.Name)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	st, err = s.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Created concurrently (another process sharing the cluster).
		return s.js.Stream(ctx, cfg.Name)
	}
	return st, err
}

// DeleteBus deletes the stream of bus name and every event in it. Deleting a
// bus that has no stream is not an error.
func (s *Store) DeleteBus(ctx context.Context, name string) error {
	err := s.js.DeleteStream(ctx, BusStream(name))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("store: delete bus %q: %w", name, err)
	}
	return nil
}

// Message is one event to publish on a bus: its id (used as Nats-Msg-Id so a
// retried publish is stored once) and its bytes.
type Message struct {
	ID   string
	Data []byte
}

// PublishEvent stores one event on bus and returns once JetStream has stored
// it. id becomes the message id: publishing the same id again within the
// stream's two-minute duplicate window stores nothing new and succeeds.
// The bus stream must exist ([Store.EnsureBus]).
func (s *Store) PublishEvent(ctx context.Context, bus, id string, data []byte) error {
	msg := &nats.Msg{Subject: BusSubject(bus), Data: data}
	if id != "" {
		msg.Header = nats.Header{jetstream.MsgIDHeader: []string{id}}
	}
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("store: publish event on bus %q: %w", bus, err)
	}
	return nil
}

// PublishEvents stores msgs on bus, pipelining up to [MaxBatch] publishes at
// a time, and returns once JetStream has acknowledged every one. The result
// has one error per message (nil when stored), so a caller can report
// per-entry failures; the returned error is non-nil when any message failed.
func (s *Store) PublishEvents(ctx context.Context, bus string, msgs []Message) ([]error, error) {
	errs := make([]error, len(msgs))
	subj := BusSubject(bus)
	var failed int
	for start := 0; start < len(msgs); start += MaxBatch {
		end := min(start+MaxBatch, len(msgs))
		futures := make([]*AckFuture, end-start)
		for i := start; i < end; i++ {
			m := &nats.Msg{Subject: subj, Data: msgs[i].Data}
			if msgs[i].ID != "" {
				m.Header = nats.Header{jetstream.MsgIDHeader: []string{msgs[i].ID}}
			}
			f, err := s.PublishAsync(m)
			if err != nil {
				errs[i] = err
				continue
			}
			futures[i-start] = f
		}
		for j, f := range futures {
			if f == nil {
				continue
			}
			if _, err := f.Wait(ctx); err != nil && ctx.Err() == nil {
				errs[start+j] = err
			} else if err != nil {
				// The remaining publishes may or may not be stored; report
				// them as failed so the caller does not claim them.
				for k := j; k < len(futures); k++ {
					if futures[k] != nil && errs[start+k] == nil {
						errs[start+k] = ctx.Err()
					}
				}
				for k := end; k < len(msgs); k++ {
					errs[k] = ctx.Err()
				}
				return errs, fmt.Errorf("store: publish events on bus %q: %w", bus, ctx.Err())
			}
		}
	}
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed > 0 {
		return errs, fmt.Errorf("store: publish events on bus %q: %d of %d failed: %w", bus, failed, len(msgs), first)
	}
	return errs, nil
}
