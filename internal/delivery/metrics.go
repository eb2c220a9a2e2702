package delivery

import (
	"github.com/conveyor/conveyor/internal/prom"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names follow EventBridge's CloudWatch metrics, in Prometheus form:
// the CamelCase name in snake_case, prefixed "conveyor_", with "_total" for
// counters and the unit for histograms; the CloudWatch dimensions EventBusName
// and RuleName become the labels event_bus_name and rule_name.
//
//	Invocations                          conveyor_invocations_total
//	FailedInvocations                    conveyor_failed_invocations_total
//	InvocationAttempts                   conveyor_invocation_attempts_total
//	SuccessfulInvocationAttempts         conveyor_successful_invocation_attempts_total
//	RetryInvocationAttempts              conveyor_retry_invocation_attempts_total
//	InvocationsSentToDlq                 conveyor_invocations_sent_to_dlq_total
//	InvocationsFailedToBeSentToDlq       conveyor_invocations_failed_to_be_sent_to_dlq_total
//	DeadLetterInvocations                conveyor_dead_letter_invocations_total
//	IngestionToInvocationSuccessLatency  conveyor_ingestion_to_invocation_success_latency_seconds
//	(Conveyor's own)                     conveyor_deferred_invocations_total
//
// Invocations counts each job once, when it ends (delivered, or failed for
// good); FailedInvocations the ones that failed for good; InvocationAttempts
// every attempt, RetryInvocationAttempts the attempts after the first.
// DeadLetterInvocations counts failed-for-good jobs that had no dead-letter
// queue, and jobs that could not be decoded: deliveries that ended nowhere.
// Deferred invocations are jobs stored in the delivery stream before any
// attempt, instead of attempted straight from the bus, because their target
// was failing or slow, or had a full queue of jobs waiting: their first
// attempt comes from the stream.
const (
	labelBus  = "event_bus_name"
	labelRule = "rule_name"
)

type metrics struct {
	invocations     *prometheus.CounterVec
	failed          *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	successAttempts *prometheus.CounterVec
	retryAttempts   *prometheus.CounterVec
	sentToDLQ       *prometheus.CounterVec
	failedToDLQ     *prometheus.CounterVec
	deadLetter      *prometheus.CounterVec
	deferred        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conveyor", Name: name, Help: help}, []string{labelBus, labelRule})
	}
	m := &metrics{
		invocations:     counter("invocations_total", "Jobs that ended: delivered to their target or failed for good (EventBridge Invocations)."),
		failed:          counter("failed_invocations_total", "Jobs that failed for good (EventBridge FailedInvocations)."),
		attempts:        counter("invocation_attempts_total", "Attempts to invoke a target (EventBridge InvocationAttempts)."),
		successAttempts: counter("successful_invocation_attempts_total", "Attempts that succeeded (EventBridge SuccessfulInvocationAttempts)."),
		retryAttempts:   counter("retry_invocation_attempts_total", "Attempts after the first (EventBridge RetryInvocationAttempts)."),
		sentToDLQ:       counter("invocations_sent_to_dlq_total", "Failed jobs stored in their dead-letter queue (EventBridge InvocationsSentToDlq)."),
		failedToDLQ:     counter("invocations_failed_to_be_sent_to_dlq_total", "Failed jobs whose dead-letter publish failed (EventBridge InvocationsFailedToBeSentToDlq)."),
		deadLetter:      counter("dead_letter_invocations_total", "Jobs that ended undelivered with no dead-letter queue, or undecodable (EventBridge DeadLetterInvocations)."),
		deferred:        counter("deferred_invocations_total", "Jobs stored for their first attempt instead of attempted straight from the bus: their target was failing, slow or had a full queue."),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "conveyor", Name: "ingestion_to_invocation_success_latency_seconds",
			Help:    "Time from the event's ingestion to its successful delivery (EventBridge IngestionToInvocationSuccessLatency).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400},
		}, []string{labelBus, labelRule}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	for _, c := range []**prometheus.CounterVec{
		&m.invocations, &m.failed, &m.attempts, &m.successAttempts, &m.retryAttempts,
		&m.sentToDLQ, &m.failedToDLQ, &m.deadLetter, &m.deferred,
	} {
		if *c, err = prom.Reuse(reg, "delivery", *c); err != nil {
			return nil, err
		}
	}
	if m.latency, err = prom.Reuse(reg, "delivery", m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

// targetMetrics are the metrics of one target's (bus, rule) label set,
// resolved once per target loop instead of once per job.
type targetMetrics struct {
	invocations, failed, attempts, successAttempts, retryAttempts,
	sentToDLQ, failedToDLQ, deadLetter, deferred prometheus.Counter
	latency prometheus.Observer
}

func (m *metrics) forTarget(bus, rule string) *targetMetrics {
	return &targetMetrics{
		invocations:     m.invocations.WithLabelValues(bus, rule),
		failed:          m.failed.WithLabelValues(bus, rule),
		attempts:        m.attempts.WithLabelValues(bus, rule),
		successAttempts: m.successAttempts.WithLabelValues(bus, rule),
		retryAttempts:   m.retryAttempts.WithLabelValues(bus, rule),
		sentToDLQ:       m.sentToDLQ.WithLabelValues(bus, rule),
		failedToDLQ:     m.failedToDLQ.WithLabelValues(bus, rule),
		deadLetter:      m.deadLetter.WithLabelValues(bus, rule),
		deferred:        m.deferred.WithLabelValues(bus, rule),
		latency:         m.latency.WithLabelValues(bus, rule),
	}
}
