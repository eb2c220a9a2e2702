package router

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
)

// knownBus returns the routing state of bus name, or an error when the
// router does not know it.
func (r *Router) knownBus(name string) (*bus, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b := r.buses[name]
	if b == nil || !b.exists {
		return nil, fmt.Errorf("router: event bus %s does not exist", name)
	}
	return b, nil
}

// RouteToRules sends ev (an EventBridge envelope) to the targets of the
// named rules of bus, through their transforms, without matching the
// rules' patterns and without putting it on the bus: a scheduled rule's
// firing. Rules that do not exist or are disabled are skipped. It returns
// once the delivery jobs are stored.
func (r *Router) RouteToRules(ctx context.Context, busName string, ev []byte, rules []string) error {
	b, err := r.knownBus(busName)
	if err != nil {
		return err
	}
	e, err := event.Parse(ev)
	if err != nil {
		return fmt.Errorf("router: route to rules: %w", err)
	}
	now := time.Now()
	var jobs []*delivery.Job
	b.mu.RLock()
	for _, name := range rules {
		ru := b.rules[name]
		if ru == nil || !ru.enabled {
			continue
		}
		ru.triggered.Inc()
		jobs = b.appendJobs(jobs, ru, ev, e.ID, now)
	}
	b.mu.RUnlock()
	if len(jobs) == 0 {
		return nil
	}
	return r.cfg.Queue.Enqueue(ctx, jobs...)
}

// RouteReplayed matches replayed events (envelopes carrying replay-name)
// against the rules of bus and sends them to the matching rules' targets,
// without putting them on the bus. Only the named rules receive them, or,
// when rules is nil, every rule of the bus except managed ones (an
// archive's rule: replayed events are not archived again). A job's event
// id is the event's id and the replay's name, so a replay is not taken for
// a duplicate of the event's first delivery. It returns the number of
// rule matches, once every job is stored.
func (r *Router) RouteReplayed(ctx context.Context, busName string, events [][]byte, rules []string) (int, error) {
	b, err := r.knownBus(busName)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var (
		jobs    []*delivery.Job
		ids     []string
		matches int
	)
	b.mu.RLock()
	for _, ev := range events {
		ids, err = b.matcher.AppendMatch(ids[:0], ev)
		if err != nil || len(ids) == 0 {
			continue
		}
		e, err := event.Parse(ev)
		if err != nil {
			continue
		}
		jobID := e.ID + "/" + e.ReplayName
		for _, id := range ids {
			ru := b.rules[id]
			if ru == nil || !ru.enabled {
				continue
			}
			if rules == nil && ru.managed || rules != nil && !slices.Contains(rules, id) {
				continue
			}
			matches++
			ru.triggered.Inc()
			jobs = b.appendJobs(jobs, ru, ev, jobID, now)
		}
	}
	b.mu.RUnlock()
	if len(jobs) == 0 {
		return matches, nil
	}
	return matches, r.cfg.Queue.Enqueue(ctx, jobs...)
}
