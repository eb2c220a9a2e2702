package inbound

import (
	"fmt"

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
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.events} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("inbound: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}
