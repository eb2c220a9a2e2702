package ingest

import (
	"github.com/conveyor/conveyor/internal/prom"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are PutEvents' counters, named after EventBridge's CloudWatch
// metrics (PutEventsEntries, PutEventsFailedEntries, PutEventsRequestSize).
type metrics struct {
	entries       prometheus.Counter
	failedEntries prometheus.Counter
	unknownBus    prometheus.Counter
	requestSize   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "put_events_entries_total",
			Help: "Entries in PutEvents requests (EventBridge's PutEventsEntries).",
		}),
		unknownBus: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "put_events_unknown_bus_total",
			Help: "PutEvents entries accepted for an event bus that does not exist, and dropped (as EventBridge accepts them).",
		}),
		failedEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "put_events_failed_entries_total",
			Help: "PutEvents entries that failed (EventBridge's PutEventsFailedEntries).",
		}),
		requestSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "conveyor", Name: "put_events_request_size_bytes",
			Help:    "Size of PutEvents requests by AWS's entry-size rule (EventBridge's PutEventsRequestSize).",
			Buckets: prometheus.ExponentialBuckets(64, 4, 8),
		}),
	}
	if err := prom.Register(reg, "ingest", m.entries, m.failedEntries, m.unknownBus, m.requestSize); err != nil {
		return nil, err
	}
	return m, nil
}
