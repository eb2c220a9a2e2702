package router

import (
	"github.com/conveyor/conveyor/internal/prom"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the routing counters, named after EventBridge's CloudWatch
// metrics (MatchedEvents, TriggeredRules).
type metrics struct {
	matched           *prometheus.CounterVec
	triggered         *prometheus.CounterVec
	routeFailures     *prometheus.CounterVec
	rerouted          *prometheus.CounterVec
	transformFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "matched_events_total",
			Help: "Events that matched at least one rule (EventBridge's MatchedEvents).",
		}, []string{"event_bus_name"}),
		triggered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "triggered_rules_total",
			Help: "Times a rule matched an event (EventBridge's TriggeredRules).",
		}, []string{"event_bus_name", "rule_name"}),
		rerouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "rerouted_messages_total",
			Help: "Bus messages with an event for a rule that the router was handed again: after a routing that failed, or when JetStream had no acknowledgement within its wait (a routing lost or stalled). Their events are routed again.",
		}, []string{"event_bus_name"}),
		routeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "routing_failures_total",
			Help: "Events whose routing failed and was retried (or that were dropped as unreadable).",
		}, []string{"event_bus_name"}),
		transformFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "transform_failures_total",
			Help: "Matched events that a target's input transformation could not turn into input.",
		}, []string{"event_bus_name", "rule_name"}),
	}
	if err := prom.Register(reg, "router", m.matched, m.triggered, m.routeFailures, m.rerouted, m.transformFailures); err != nil {
		return nil, err
	}
	return m, nil
}
