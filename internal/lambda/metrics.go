package lambda

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/prom"
)

// labelFunction is the metrics' label: Lambda's FunctionName dimension.
const labelFunction = "function_name"

// metrics are the functions' counters, named after Lambda's CloudWatch metrics.
type metrics struct {
	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	concurrent  *prometheus.GaugeVec
	dropped     *prometheus.CounterVec
	deadLetter  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conveyor", Subsystem: "lambda", Name: name, Help: help},
			[]string{labelFunction})
	}
	m := &metrics{
		invocations: counter("invocations_total", "Times a function's code ran, whatever its outcome (Lambda's Invocations)."),
		errors:      counter("errors_total", "Invocations that ended in a function error: an error answered, a crash or a timeout (Lambda's Errors)."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "conveyor", Subsystem: "lambda", Name: "duration_seconds",
			Help:    "How long invocations ran, from when the runtime took the event to its answer (Lambda's Duration).",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 60, 300, 900}}, []string{labelFunction}),
		concurrent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conveyor", Subsystem: "lambda", Name: "concurrent_executions",
			Help: "Invocations running now, waiting for a process included (Lambda's ConcurrentExecutions)."}, []string{labelFunction}),
		dropped:    counter("async_events_dropped_total", "Asynchronous invocations dropped: failed after their retries, too old, or their function gone (Lambda's AsyncEventsDropped)."),
		deadLetter: counter("dead_letter_errors_total", "Failed asynchronous invocations their dead-letter queue did not take (Lambda's DeadLetterErrors)."),
	}
	if err := prom.Register(reg, "lambda", m.invocations, m.errors, m.duration, m.concurrent, m.dropped, m.deadLetter); err != nil {
		return nil, err
	}
	return m, nil
}

// forget removes the series of a deleted function.
func (m *metrics) forget(name string) {
	m.invocations.DeleteLabelValues(name)
	m.errors.DeleteLabelValues(name)
	m.duration.DeleteLabelValues(name)
	m.concurrent.DeleteLabelValues(name)
	m.dropped.DeleteLabelValues(name)
	m.deadLetter.DeleteLabelValues(name)
}
