package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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

// Message is one event to publish on a bus: its bytes, and an id for
// JetStream's duplicate detection (see [Store.PublishEvents]).
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
	if _, err := s.Publish(ctx, msg); err != nil {
		return fmt.Errorf("store: publish event on bus %q: %w", bus, err)
	}
	return nil
}

// batchHeadroom is what a batch leaves of the connection's maximum payload
// for the message's subject and headers.
const batchHeadroom = 4096

// BatchLimit is the most bytes a message of several items (see
// AppendBatch) may hold: the connection's maximum payload, less room for
// the subject and headers.
func (s *Store) BatchLimit() int { return max(int(s.nc.MaxPayload())-batchHeadroom, 1) }

// PublishEvents stores msgs on bus as one message (see [Batched]), or as
// several when together they would exceed the connection's maximum payload,
// and returns once JetStream has acknowledged them. The id of each message's
// first event, if any, is its message id: the same batch published again
// within the duplicate window is stored once. The result has one error per
// event (nil when stored), so a caller can report per-entry failures; the
// returned error is non-nil when any failed.
func (s *Store) PublishEvents(ctx context.Context, bus string, msgs []Message) ([]error, error) {
	errs := make([]error, len(msgs))
	subj := BusSubject(bus)
	limit := s.BatchLimit()
	type part struct {
		start, end int
		f          *AckFuture
	}
	var partsBuf [1]part
	parts := partsBuf[:0]
	for start := 0; start < len(msgs); {
		end, size := start+1, 1+uvarintLen(uint64(len(msgs[start].Data)))+len(msgs[start].Data)
		for end < len(msgs) {
			add := uvarintLen(uint64(len(msgs[end].Data))) + len(msgs[end].Data)
			if size+add > limit {
				break
			}
			size += add
			end++
		}
		events := msgs[start:end]
		m := &nats.Msg{Subject: subj, Data: appendBatch(make([]byte, 0, size), events)}
		if events[0].ID != "" {
			m.Header = nats.Header{jetstream.MsgIDHeader: []string{events[0].ID}}
		}
		f, err := s.PublishAsync(m)
		for i := start; i < end && err != nil; i++ {
			errs[i] = err
		}
		parts = append(parts, part{start: start, end: end, f: f})
		start = end
	}
	for _, p := range parts {
		if p.f == nil {
			continue
		}
		_, err := p.f.Wait(ctx)
		if err != nil && ctx.Err() != nil {
			// This part and the ones not waited for may or may not be
			// stored: report them failed so the caller does not claim them.
			err = ctx.Err()
		}
		for i := p.start; i < p.end && err != nil; i++ {
			errs[i] = err
		}
	}
	var failed int
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
