package prom

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Register registers cs with reg, or does nothing when reg is nil (a component built without
// metrics). what names the component in the error.
func Register(reg prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("%s: register metrics: %w", what, err)
		}
	}
	return nil
}

// Reuse registers c with reg, or returns the collector of the same kind already registered
// in its place: a component restarted on the same registry keeps counting there.
func Reuse[C prometheus.Collector](reg prometheus.Registerer, what string, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("%s: register metrics: %w", what, err)
	}
	return c, nil
}

// Sum is the sum of the counters named name that g gathers (for a histogram,
// of its observation counts), over the series that carry every one of
// labelValues among their labels' values (all of them when none is given);
// 0 when g cannot gather.
func Sum(g prometheus.Gatherer, name string, labelValues ...string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, want := range labelValues {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetValue() == want }) {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}
