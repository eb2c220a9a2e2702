package tail

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/pattern"
)

// Subjects of the tail: a tail that watches a bus says so on activeSubject every interestEvery,
// and every Conveyor publishes the outcomes of that bus's deliveries on its outcome subject
// while some tail has said so within interestFor.
const (
	activeSubject  = "conveyor.tail.active"
	outcomePrefix  = "conveyor.tail.outcome"
	interestEvery  = time.Second
	interestFor    = 3 * time.Second
	rulesRefreshed = 2 * time.Second
	keepAlive      = 15 * time.Second
)

// Item is one thing a tail sees: an event (with the rules it matched) or an outcome. An Item
// with neither says the tail is ready (the first) or still alive (every keepAlive).
type Item struct {
	// Event is an event as it arrived on the bus, and Rules the enabled rules it matched.
	Event json.RawMessage `json:"event,omitempty"`
	Rules []string        `json:"rules,omitempty"`
	// Outcome is how one attempt to deliver an event ended.
	Outcome *delivery.Outcome `json:"outcome,omitempty"`
}

// Rule is what the tail needs of a rule.
type Rule struct {
	Name, EventPattern string
	Enabled            bool
}

// Hub publishes outcomes for the buses someone tails, and serves the tails of this process.
type Hub struct {
	nc  *nats.Conn
	log *slog.Logger
	sub *nats.Subscription

	mu     sync.Mutex
	active map[string]time.Time // bus ID → when a tail last said it watches
}

// New returns a hub on nc.
func New(nc *nats.Conn, log *slog.Logger) (*Hub, error) {
	h := &Hub{nc: nc, log: log, active: map[string]time.Time{}}
	sub, err := nc.Subscribe(activeSubject, func(m *nats.Msg) {
		h.mu.Lock()
		h.active[string(m.Data)] = time.Now()
		h.mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	h.sub = sub
	return h, nil
}

// Close stops the hub.
func (h *Hub) Close() { _ = h.sub.Unsubscribe() }

// Outcome publishes o when some tail watches its bus (delivery.Config.Outcomes).
func (h *Hub) Outcome(o delivery.Outcome) {
	h.mu.Lock()
	seen, ok := h.active[o.Bus]
	h.mu.Unlock()
	if !ok || time.Since(seen) > interestFor {
		return
	}
	b, err := json.Marshal(o)
	if err != nil {
		return
	}
	_ = h.nc.Publish(store.Subject(outcomePrefix, o.Bus), b)
}

// Watch sends fn the items of bus busID until ctx ends or fn fails: each event published on
// the bus that matches filter (every event when filter is empty), with the enabled rules of
// rules() it matched, and the outcomes of its deliveries.
func (h *Hub) Watch(ctx context.Context, busID string, filter []byte, rules func(context.Context) ([]Rule, error), fn func(Item) error) error {
	var keep *pattern.Matcher
	if len(filter) > 0 {
		keep = pattern.New()
		if err := keep.Add("filter", filter); err != nil {
			return err
		}
	}
	items := make(chan Item, 256)
	events, err := h.nc.Subscribe(store.BusSubject(busID), func(m *nats.Msg) {
		for ev := range store.Batched(m.Data) {
			select {
			case items <- Item{Event: json.RawMessage(append([]byte(nil), ev...))}:
			default: // the tail is behind: it skips events rather than slow the bus
			}
		}
	})
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer func() { _ = events.Unsubscribe() }()
	outcomes, err := h.nc.Subscribe(store.Subject(outcomePrefix, busID), func(m *nats.Msg) {
		var o delivery.Outcome
		if json.Unmarshal(m.Data, &o) != nil {
			return
		}
		select {
		case items <- Item{Outcome: &o}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer func() { _ = outcomes.Unsubscribe() }()

	say := func() { _ = h.nc.Publish(activeSubject, []byte(busID)) }
	say()
	interest := time.NewTicker(interestEvery)
	defer interest.Stop()
	refresh := time.NewTicker(rulesRefreshed)
	defer refresh.Stop()
	alive := time.NewTicker(keepAlive)
	defer alive.Stop()
	matcher, err := h.matcher(ctx, rules)
	if err != nil {
		return err
	}
	if err := fn(Item{}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-alive.C:
			if err := fn(Item{}); err != nil {
				return err
			}
		case <-interest.C:
			say()
		case <-refresh.C:
			if m, err := h.matcher(ctx, rules); err == nil {
				matcher = m
			}
		case it := <-items:
			if it.Event != nil {
				if keep != nil {
					if ids, err := keep.Match(it.Event); err != nil || len(ids) == 0 {
						continue
					}
				}
				it.Rules, _ = matcher.Match(it.Event)
			}
			if err := fn(it); err != nil {
				return err
			}
		}
	}
}

// matcher matches the enabled rules of rules().
func (h *Hub) matcher(ctx context.Context, rules func(context.Context) ([]Rule, error)) (*pattern.Matcher, error) {
	rs, err := rules(ctx)
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	m := pattern.New(pattern.WithMaxLength(0))
	for _, r := range rs {
		if r.Enabled && r.EventPattern != "" {
			if err := m.Add(r.Name, []byte(r.EventPattern)); err != nil {
				h.log.Warn("tail: a rule's pattern does not compile", "rule", r.Name, "err", err)
			}
		}
	}
	return m, nil
}
