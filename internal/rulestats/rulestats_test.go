package rulestats_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/rulestats"
)

// Each minute's bucket is what a counter grew by in that minute; the last one is the minute
// under way; other buses' rules are left out.
func TestSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	inv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "conveyor_invocations_total"}, []string{"event_bus_name", "rule_name"})
	reg.MustRegister(inv)
	s := rulestats.New(reg)
	inv.WithLabelValues("default", "r").Add(2)
	inv.WithLabelValues("other", "x").Add(9)
	s.Sample()
	inv.WithLabelValues("default", "r").Add(3)
	s.Sample()
	inv.WithLabelValues("default", "r").Add(1)
	got := s.Rules("default")
	if len(got) != 1 {
		t.Fatalf("rules %v", got)
	}
	sr := got["r"]["Invoked"]
	if sr.Total != 6 || len(sr.PerMinute) != rulestats.Minutes {
		t.Fatalf("series %+v", sr)
	}
	last := sr.PerMinute[rulestats.Minutes-2:]
	if last[0] != 3 || last[1] != 1 || sr.PerMinute[rulestats.Minutes-3] != 0 {
		t.Errorf("last buckets %v", sr.PerMinute[rulestats.Minutes-4:])
	}
	if m := got["r"]["Matched"]; m.Total != 0 {
		t.Errorf("matched %+v", m)
	}
}
