package pattern

import (
	"bytes"
	"testing"
)

// BenchmarkSkipContainer measures skipContainer alone on the two containers
// of each citylots event: "properties" (an object of short strings) and
// "geometry" (mostly an array of arrays of numbers).
func BenchmarkSkipContainer(b *testing.B) {
	events, _ := loadCitylots(b)
	for _, key := range []string{`"properties":`, `"geometry":`} {
		b.Run("value="+key[1:len(key)-2], func(b *testing.B) {
			type span struct {
				ev    []byte
				start int
			}
			var spans []span
			size := 0
			for _, ev := range events[:min(len(events), 20000)] {
				k := bytes.Index(ev, []byte(key))
				if k < 0 {
					continue
				}
				spans = append(spans, span{ev, k + len(key)})
				size += len(ev) - k - len(key)
			}
			b.SetBytes(int64(size / len(spans)))
			i := 0
			cpu := startCPU()
			for b.Loop() {
				sp := spans[i]
				if _, err := skipContainer(sp.ev, sp.start); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(spans) {
					i = 0
				}
			}
			cpu.report(b)
		})
	}
}
