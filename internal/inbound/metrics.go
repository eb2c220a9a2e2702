package inbound

import (
	"github.com/conveyor/conveyor/internal/prom"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "inbound_requests_total",
			Help: "Requests to the inbound endpoints, by endpoint (event, s3) and HTTP status.",
		}, []string{"endpoint", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conveyor", Name: "inbound_events_total",
			Help: "Events stored through the inbound endpoints, by endpoint (event, s3).",
		}, []string{"endpoint"}),
	}
	if err := prom.Register(reg, "inbound", m.requests, m.events); err != nil {
		return nil, err
	}
	return m, nil
}
