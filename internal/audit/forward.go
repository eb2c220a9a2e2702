package audit

import (
	"github.com/conveyor/conveyor/internal/store"

	"github.com/conveyor/conveyor/internal/scope"

	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/event"
)

// DetailType is the detail-type of an API call on the bus.
const DetailType = "AWS API Call via CloudTrail"

// Forwarder puts API-call events on the default bus of the scope (account
// and region) the call was made in. The router implements it. readOnly says which rules may see the event: a write call reaches
// rules in state ENABLED and ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, a
// read-only call only rules in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
// The event's id is derived from the record's eventID, so that an event
// forwarded twice (after a crash before the audit log heard of it) can be
// deduplicated by id. A nil error means the bus has stored the event.
type Forwarder interface {
	ForwardAPICall(ctx context.Context, sc scope.Scope, event []byte, readOnly bool) error
}

// ForwarderFunc adapts a function to Forwarder.
type ForwarderFunc func(ctx context.Context, sc scope.Scope, event []byte, readOnly bool) error

// ForwardAPICall calls f.
func (f ForwarderFunc) ForwardAPICall(ctx context.Context, sc scope.Scope, event []byte, readOnly bool) error {
	return f(ctx, sc, event, readOnly)
}

// BusEvent is the EventBridge event of a management record: source
// aws.<service>, detail-type "AWS API Call via CloudTrail", the record as
// detail, no resources, the record's eventTime as time. raw is the record's
// JSON as stored.
func BusEvent(rec *Record, raw []byte) ([]byte, error) {
	if !rec.ManagementEvent {
		return nil, fmt.Errorf("audit: record %s is a data event; data events are not put on the bus", rec.EventID)
	}
	t := rec.Time()
	if t.IsZero() {
		return nil, fmt.Errorf("audit: record %s: eventTime %q is not a time", rec.EventID, rec.EventTime)
	}
	ev := event.Event{
		Version:    "0",
		ID:         EventIDFor(rec.EventID),
		DetailType: DetailType,
		Source:     "aws." + rec.Service(),
		Account:    rec.RecipientAccountID,
		Time:       t,
		Region:     rec.AWSRegion,
		Resources:  []string{},
		Detail:     raw,
	}
	return ev.AppendJSON(nil), nil
}

// EventIDFor derives the bus event's id from a record's eventID: a UUID
// (version 5 form, SHA-1 of the eventID), the same every time.
func EventIDFor(eventID string) string {
	h := sha1.Sum([]byte("conveyor.audit/" + eventID))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	var b strings.Builder
	for i, c := range h[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b.WriteByte('-')
		}
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&0xf])
	}
	return b.String()
}

// ForwardConsumer is the durable consumer that forwards management records
// to the bus. It is shared by every process of a cluster, so each record is
// forwarded by one of them.
const ForwardConsumer = "audit-to-bus"

// ForwardConfig configures Forward.
type ForwardConfig struct {
	// MaxAge: records older than this when they reach the forwarder are
	// not forwarded (a bus keeps events for a day; replaying a months-old
	// history onto it after the consumer was deleted would surprise every
	// rule). Default 24h.
	MaxAge time.Duration
	// Replicas of the consumer (default 1).
	Replicas int
	Logger   *slog.Logger
}

// Forward puts every management record of the audit log on the bus through
// f until ctx ends: a record is acknowledged only once f has returned nil,
// and redelivered with backoff after an error, so none is lost while the bus
// is unavailable. Returns ctx's error.
func Forward(ctx context.Context, js jetstream.JetStream, f Forwarder, cfg ForwardConfig) error {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	store.Restart(ctx, cfg.Logger, "audit: forwarding API calls to the bus", func(ctx context.Context) error { return forward(ctx, js, f, cfg) })
	return ctx.Err()
}

func forward(ctx context.Context, js jetstream.JetStream, f Forwarder, cfg ForwardConfig) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       ForwardConsumer,
		Description:   "Conveyor: management API calls to the default bus",
		FilterSubject: ManagementSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 1000,
		Replicas:      max(cfg.Replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("audit: consumer %s: %w", ForwardConsumer, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("audit: consume %s: %w", ForwardConsumer, err)
	}
	defer it.Stop()
	stopOnDone := context.AfterFunc(ctx, it.Stop)
	defer stopOnDone()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("audit: consume %s: %w", ForwardConsumer, err)
		}
		forwardOne(ctx, msg, f, cfg)
	}
}

func forwardOne(ctx context.Context, msg jetstream.Msg, f Forwarder, cfg ForwardConfig) {
	if msg.Headers().Get(HeaderNoForward) != "" {
		_ = msg.Ack()
		return
	}
	rec, err := ParseRecord(msg.Data())
	if err != nil {
		cfg.Logger.Error("audit: unreadable record not forwarded", "err", err)
		_ = msg.Term()
		return
	}
	if age := time.Since(rec.Time()); age > cfg.MaxAge {
		cfg.Logger.Warn("audit: record too old to put on the bus", "event_id", rec.EventID, "age", age)
		_ = msg.Ack()
		return
	}
	ev, err := BusEvent(rec, msg.Data())
	if err != nil {
		cfg.Logger.Error("audit: record not forwarded", "err", err)
		_ = msg.Term()
		return
	}
	if err := f.ForwardAPICall(ctx, rec.Scope(), ev, rec.ReadOnly); err != nil {
		delay := time.Second
		if md, mdErr := msg.Metadata(); mdErr == nil {
			delay = min(time.Duration(1<<min(md.NumDelivered, 6))*250*time.Millisecond, 15*time.Second)
		}
		cfg.Logger.Warn("audit: bus refused an API-call event; will retry", "event_id", rec.EventID, "err", err, "delay", delay)
		_ = msg.NakWithDelay(delay)
		return
	}
	_ = msg.Ack()
}
