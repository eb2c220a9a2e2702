package cpuparts

import (
	"bytes"
	"fmt"
	"time"

	"github.com/google/pprof/profile"
)

// Unlabelled is the part of samples without the label: goroutines started
// before any label was set (JetStream's own, for one) and the garbage
// collector.
const Unlabelled = "unlabelled"

// ByLabel sums the CPU time of raw, a CPU profile as runtime/pprof writes
// it, by the value of its label key.
func ByLabel(raw []byte, key string) (map[string]time.Duration, error) {
	p, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("cpuparts: %w", err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("cpuparts: no cpu nanoseconds in the profile's %d sample types", len(p.SampleType))
	}
	parts := map[string]time.Duration{}
	for _, s := range p.Sample {
		part := Unlabelled
		if v := s.Label[key]; len(v) > 0 {
			part = v[0]
		}
		parts[part] += time.Duration(s.Value[idx])
	}
	return parts, nil
}
