package schedule

import (
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
)

// Router sends an event to the targets of the named rules of a bus (and to
// no other rule), as the router does for matched events.
type Router interface {
	RouteToRules(ctx context.Context, bus string, event []byte, rules []string) error
}

// DefaultBucket is the KV bucket holding each scheduled rule's last firing.
const DefaultBucket = "conveyor-schedule"

// Scheduled events' source and detail-type, as AWS sends them.
const (
	EventSource     = "aws.events"
	EventDetailType = "Scheduled Event"
)

// Config is what a Scheduler works with. Catalog, JetStream and Router are
// required.
type Config struct {
	Catalog   *catalog.Catalog
	JetStream jetstream.JetStream
	Router    Router
	// Replicas of the KV bucket (1 if zero).
	Replicas int
	// Bucket is the KV bucket of last firings (DefaultBucket if empty).
	Bucket string
	// Clock is the time source (the system clock if nil).
	Clock  clock.Clock
	Logger *slog.Logger
}

// Scheduler fires the scheduled rules of the default bus.
type Scheduler struct {
	cfg Config
	kv  jetstream.KeyValue
	log *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	fired int // firings this scheduler claimed and routed
}

// entry is a scheduled rule as the scheduler follows it.
type entry struct {
	name, arn string
	scope     scope.Scope
	// key names the rule across scopes (catalog.ScopedName): the rules map's
	// key and its last firing's.
	key   string
	sched Schedule
	next  time.Time // zero: never again
}

// lastFiring is the KV record of a rule's last claimed firing.
type lastFiring struct {
	Time    time.Time `json:"Time"`
	RuleARN string    `json:"RuleArn"`
}

// New opens (or creates) the scheduler's KV bucket.
func New(ctx context.Context, cfg Config) (*Scheduler, error) {
	if cfg.Catalog == nil || cfg.JetStream == nil || cfg.Router == nil {
		return nil, errors.New("schedule: Catalog, JetStream and Router are required")
	}
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultBucket
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kv, err := store.OpenKeyValue(ctx, cfg.JetStream, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "Conveyor scheduled rules: the last firing of each",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: open bucket %s: %w", cfg.Bucket, err)
	}
	return &Scheduler{cfg: cfg, kv: kv, log: cfg.Logger.With("component", "scheduler")}, nil
}

// Start follows the catalog and fires rules until Close. It returns once
// the rules that exist are loaded.
func (s *Scheduler) Start(ctx context.Context) error {
	rctx, cancel := context.WithCancel(context.Background())
	changes, err := s.cfg.Catalog.Watch(rctx, catalog.KindRule)
	if err != nil {
		cancel()
		return fmt.Errorf("schedule: %w", err)
	}
	s.cancel = cancel
	s.done = make(chan struct{})
	synced := make(chan struct{})
	go s.run(rctx, changes, synced)
	select {
	case <-synced:
		return nil
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("schedule: loading the rules: %w", ctx.Err())
	}
}

// Close stops the scheduler; a firing in progress finishes first.
func (s *Scheduler) Close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// Fired returns the number of firings this scheduler claimed and routed.
func (s *Scheduler) Fired() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

func (s *Scheduler) run(ctx context.Context, changes <-chan catalog.Change, synced chan struct{}) {
	defer close(s.done)
	rules := map[string]*entry{}
	for {
		var timer <-chan time.Time
		if first := earliest(rules); !first.IsZero() {
			timer = s.cfg.Clock.After(first.Sub(s.cfg.Clock.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-changes:
			if !ok {
				changes = s.rewatch(ctx)
				if changes == nil {
					return
				}
				clear(rules)
				continue
			}
			switch {
			case ch.Op == catalog.OpSynced:
				if synced != nil {
					close(synced)
					synced = nil
				}
			case ch.BusName != catalog.DefaultBusName:
			case ch.Op == catalog.OpDelete:
				delete(rules, s.cfg.Catalog.ScopedName(ch.Scope, ch.Name))
			default:
				s.load(ctx, rules, ch.Scope, ch.Rule)
			}
		case <-timer:
			now := s.cfg.Clock.Now()
			for _, e := range rules {
				if e.next.IsZero() || e.next.After(now) {
					continue
				}
				s.fire(ctx, e, e.next)
				if ctx.Err() != nil {
					return
				}
				e.next = e.sched.Next(latest(e.next, now))
			}
		}
	}
}

func (s *Scheduler) rewatch(ctx context.Context) <-chan catalog.Change {
	for {
		s.log.Warn("catalog watch ended; watching again")
		changes, err := s.cfg.Catalog.Watch(ctx, catalog.KindRule)
		if err == nil {
			return changes
		}
		s.log.Error("watching the catalog", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func earliest(rules map[string]*entry) time.Time {
	var first time.Time
	for _, e := range rules {
		if !e.next.IsZero() && (first.IsZero() || e.next.Before(first)) {
			first = e.next
		}
	}
	return first
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maxCatchUpSteps bounds the search for the latest missed firing.
const maxCatchUpSteps = 1 << 20

// load (re)computes the next firing of rule r: the first after its last
// claimed firing, or after its last change when that is later. When that
// time has passed (the rule was due while no scheduler ran), the rule fires
// once, now, for the latest firing it missed.
func (s *Scheduler) load(ctx context.Context, rules map[string]*entry, sc scope.Scope, r *catalog.Rule) {
	key := s.cfg.Catalog.ScopedName(sc, r.Name)
	if r.ScheduleExpression == "" || !r.Enabled() {
		delete(rules, key)
		return
	}
	sched, err := Parse(r.ScheduleExpression)
	if err != nil {
		s.log.Error("stored schedule expression does not parse; rule not scheduled", "rule_arn", r.ARN, "err", err)
		delete(rules, key)
		return
	}
	sched = WithAnchor(sched, r.CreationTime)
	base := r.LastModifiedTime
	if last, _, err := s.last(ctx, key); err != nil {
		s.log.Error("reading a scheduled rule's last firing", "rule_arn", r.ARN, "err", err)
	} else if last != nil && last.RuleARN == r.ARN && last.Time.After(base) {
		base = last.Time
	}
	now := s.cfg.Clock.Now()
	next := sched.Next(base)
	if !next.IsZero() && !next.After(now) {
		for range maxCatchUpSteps {
			n := sched.Next(next)
			if n.IsZero() || n.After(now) {
				break
			}
			next = n
		}
	}
	rules[key] = &entry{name: r.Name, arn: r.ARN, scope: sc, key: key, sched: sched, next: next}
}

func lastKey(rule string) string { return "rule." + store.Token(rule) }

// last reads the last claimed firing of rule (nil if none) and its KV
// revision (0 if none).
func (s *Scheduler) last(ctx context.Context, rule string) (*lastFiring, uint64, error) {
	e, err := s.kv.Get(ctx, lastKey(rule))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var lf lastFiring
	if err := json.Unmarshal(e.Value(), &lf); err != nil {
		// Unreadable: let the next claim overwrite it.
		return nil, e.Revision(), nil
	}
	return &lf, e.Revision(), nil
}

// claim records at as the rule's last firing with a compare-and-set write.
// It reports false when the firing (or a later one) was claimed already:
// another scheduler fired it.
func (s *Scheduler) claim(ctx context.Context, e *entry, at time.Time) (bool, error) {
	codec := store.Codec[lastFiring]{
		// An unreadable record is overwritten by the claim.
		Decode: func(entry jetstream.KeyValueEntry) (*lastFiring, error) {
			var lf lastFiring
			_ = json.Unmarshal(entry.Value(), &lf)
			return &lf, nil
		},
		Encode: func(lf *lastFiring) ([]byte, error) { return json.Marshal(lf) },
	}
	won := false
	_, _, err := store.Mutate(ctx, s.kv, lastKey(e.key), codec, func(last *lastFiring, _ uint64) (*lastFiring, error) {
		won = last == nil || last.RuleARN != e.arn || last.Time.Before(at)
		if !won {
			return nil, store.ErrKeep
		}
		return &lastFiring{Time: at, RuleARN: e.arn}, nil
	})
	if err != nil {
		return false, fmt.Errorf("schedule: claim %s: %w", e.name, err)
	}
	return won, nil
}

// fire claims the firing of e at at and, if this scheduler won it, sends
// the scheduled event to the rule's targets.
func (s *Scheduler) fire(ctx context.Context, e *entry, at time.Time) {
	log := s.log.With("rule_arn", e.arn, "scheduled", at)
	won, err := s.claim(ctx, e, at)
	if err != nil {
		log.Error("claiming a scheduled firing; not fired", "err", err)
		return
	}
	if !won {
		log.Debug("firing claimed by another scheduler")
		return
	}
	ev := ScheduledEvent(e.arn, e.scope.Account, e.scope.Region, at)
	data := ev.AppendJSON(nil)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = s.cfg.Router.RouteToRules(ctx, s.cfg.Catalog.BusID(e.scope, catalog.DefaultBusName), data, []string{e.name})
		if err == nil || attempt == 5 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err != nil {
		log.Error("routing a scheduled event; firing lost", "err", err)
		return
	}
	s.mu.Lock()
	s.fired++
	s.mu.Unlock()
	log.Debug("scheduled rule fired", "event_id", ev.ID)
}

// ScheduledEvent is the event a scheduled rule sends at at. Its id is
// derived from the rule and the time, so the same firing always has the
// same id (deliveries are deduplicated by it).
func ScheduledEvent(ruleARN, account, region string, at time.Time) *event.Event {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", ruleARN, at.Unix()))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	return &event.Event{
		Version:    event.Version,
		ID:         id,
		DetailType: EventDetailType,
		Source:     EventSource,
		Account:    account,
		Time:       at.UTC(),
		Region:     region,
		Resources:  []string{ruleARN},
		Detail:     json.RawMessage("{}"),
	}
}
