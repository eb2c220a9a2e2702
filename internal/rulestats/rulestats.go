package rulestats

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Counters are the metrics kept, each with the Prometheus family it is read from.
var families = map[string]string{
	"conveyor_triggered_rules_total":                      "Matched",
	"conveyor_invocations_total":                          "Invoked",
	"conveyor_failed_invocations_total":                   "Failed",
	"conveyor_invocations_sent_to_dlq_total":              "DeadLettered",
	"conveyor_dead_letter_invocations_total":              "Dropped",
	"conveyor_invocations_failed_to_be_sent_to_dlq_total": "FailedToDeadLetter",
}

// Minutes is how many one-minute buckets a series has.
const Minutes = 60

// Series is one counter of one rule: its total since the process started, and how much it
// grew in each of the last Minutes minutes (oldest first; the last is the minute under way).
type Series struct {
	Total     float64   `json:"Total"`
	PerMinute []float64 `json:"PerMinute"`
}

// key names a rule: its bus's ID and its name.
type key struct{ bus, rule string }

// totals are the counters of one rule at one time, by counter name.
type totals map[string]float64

// Stats samples a registry.
type Stats struct {
	g prometheus.Gatherer

	mu      sync.Mutex
	samples []map[key]totals // one a minute, oldest first, at most Minutes
}

// New returns stats of g; call Sample once a minute.
func New(g prometheus.Gatherer) *Stats { return &Stats{g: g} }

// Sample takes the counters now, as the end of a minute.
func (s *Stats) Sample() {
	now := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, now)
	if len(s.samples) > Minutes {
		s.samples = s.samples[len(s.samples)-Minutes:]
	}
}

// Run samples every interval until stop is closed.
func (s *Stats) Run(interval time.Duration, stop <-chan struct{}) {
	s.Sample()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.Sample()
		}
	}
}

// Rules returns the series of every counter of each rule of bus busID that has counted
// anything, by rule name and counter name (Matched, Invoked, Failed, DeadLettered, Dropped,
// FailedToDeadLetter).
func (s *Stats) Rules(busID string) map[string]map[string]Series {
	now := s.read()
	s.mu.Lock()
	samples := append([]map[key]totals(nil), s.samples...)
	s.mu.Unlock()
	out := map[string]map[string]Series{}
	for k, cur := range now {
		if k.bus != busID {
			continue
		}
		rule := map[string]Series{}
		for _, name := range families {
			sr := Series{Total: cur[name], PerMinute: make([]float64, Minutes)}
			// Bucket i (of Minutes) is the growth between sample points; the last bucket runs
			// from the newest sample to now.
			points := make([]float64, 0, len(samples)+1)
			for _, sm := range samples {
				points = append(points, sm[k][name])
			}
			points = append(points, cur[name])
			for i := 1; i < len(points); i++ {
				d := points[i] - points[i-1]
				if d < 0 { // the process restarted: counters began again
					d = points[i]
				}
				sr.PerMinute[Minutes-(len(points)-i)] = d
			}
			rule[name] = sr
		}
		out[k.rule] = rule
	}
	return out
}

// read gathers the counters of every rule.
func (s *Stats) read() map[key]totals {
	out := map[key]totals{}
	mfs, err := s.g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		name, ok := families[mf.GetName()]
		if !ok {
			continue
		}
		for _, m := range mf.GetMetric() {
			k := labels(m)
			if k.rule == "" {
				continue
			}
			t := out[k]
			if t == nil {
				t = totals{}
				out[k] = t
			}
			t[name] += m.GetCounter().GetValue()
		}
	}
	return out
}

func labels(m *dto.Metric) key {
	var k key
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "event_bus_name":
			k.bus = l.GetValue()
		case "rule_name":
			k.rule = l.GetValue()
		}
	}
	return k
}
