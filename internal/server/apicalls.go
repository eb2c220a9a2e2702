package server

import (
	"github.com/conveyor/conveyor/internal/prom"

	"context"
	"log/slog"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// apiCalls counts and times every API call, by service, operation and
// outcome, and writes an access-log line per call at debug level.
type apiCalls struct {
	log      *slog.Logger
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPICalls(reg prometheus.Registerer, log *slog.Logger) (*apiCalls, error) {
	a := &apiCalls{
		log: log,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conveyor", Name: "api_calls_total",
			Help: "API calls answered, by service, operation and HTTP status."}, []string{"service", "operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "conveyor", Name: "api_call_duration_seconds",
			Help:    "Time from a call's arrival to its answer, by service and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25}}, []string{"service", "operation"}),
	}
	if err := prom.Register(reg, "server", a.calls, a.duration); err != nil {
		return nil, err
	}
	return a, nil
}

// observe is an awsapi.Observer. Calls that reached no operation are
// counted under the operation "unknown" (their names are the client's).
func (a *apiCalls) observe(ctx context.Context, c *awsapi.Call) {
	svc, op := c.Service, c.Operation
	if svc == "" || c.Err != nil && c.Err.Code == awsapi.CodeUnknownOperationException {
		svc, op = "unknown", "unknown"
	}
	d := c.End.Sub(c.Start)
	a.calls.WithLabelValues(svc, op, strconv.Itoa(c.Status)).Inc()
	a.duration.WithLabelValues(svc, op).Observe(d.Seconds())
	if a.log.Enabled(ctx, slog.LevelDebug) {
		attrs := append([]any{"service", svc, "operation", op, "status", c.Status, "duration", d,
			"source_ip", c.Caller.SourceIP}, c.Caller.LogAttrs()...)
		if c.Err != nil {
			attrs = append(attrs, "error_code", c.Err.Code)
		}
		a.log.Debug("api call", attrs...)
	}
}
