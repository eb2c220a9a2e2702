package pattern

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"sync"
	"testing"
)

// The matching benchmarks run on the citylots data set (213,068 GeoJSON
// features of about 650 bytes, one per line), which is generated, not
// committed:
//
//	go run ./cmd/conveyor bench citylots > /tmp/citylots.jlines
//	CONVEYOR_CITYLOTS=/tmp/citylots.jlines go test -run '^$' -bench . -benchmem ./pattern
//
// Each op matches one event; events/s is the single-goroutine throughput.
// cpu-ns/op (Linux) is the thread's CPU time per event, which stays honest
// when other processes share the machine and wall time does not.

var citylots struct {
	once   sync.Once
	events [][]byte
	bytes  int
	err    error
}

func loadCitylots(b *testing.B) ([][]byte, int) {
	b.Helper()
	path := os.Getenv("CONVEYOR_CITYLOTS")
	if path == "" {
		path = "testdata/citylots.jlines"
	}
	citylots.once.Do(func() {
		data, err := os.ReadFile(path)
		if err != nil {
			citylots.err = err
			return
		}
		for line := range bytes.Lines(data) {
			line = bytes.TrimRight(line, "\n")
			if len(line) > 0 {
				citylots.events = append(citylots.events, line)
				citylots.bytes += len(line)
			}
		}
	})
	if citylots.err != nil || len(citylots.events) == 0 {
		b.Skipf("no citylots data at %s (%v): generate it with `go run ./cmd/conveyor bench citylots > /tmp/citylots.jlines` and set CONVEYOR_CITYLOTS=/tmp/citylots.jlines", path, citylots.err)
	}
	return citylots.events, citylots.bytes
}

// citylotsPatterns are five patterns per operator, in the manner of
// quamina's and event-ruler's citylots benchmarks.
var citylotsPatterns = []struct {
	name     string
	patterns []string
}{
	{"exact", []string{
		`{"properties":{"STREET":["JEFFERSON"]}}`, `{"properties":{"STREET":["BEACH"]}}`,
		`{"properties":{"STREET":["CRANLEIGH"]}}`, `{"properties":{"STREET":["GEARY"]}}`,
		`{"properties":{"STREET":["OAK"]}}`}},
	{"prefix", []string{
		`{"properties":{"STREET":[{"prefix":"JEF"}]}}`, `{"properties":{"STREET":[{"prefix":"BE"}]}}`,
		`{"properties":{"STREET":[{"prefix":"CRAN"}]}}`, `{"properties":{"STREET":[{"prefix":"GE"}]}}`,
		`{"properties":{"STREET":[{"prefix":"OA"}]}}`}},
	{"suffix", []string{
		`{"properties":{"STREET":[{"suffix":"SON"}]}}`, `{"properties":{"STREET":[{"suffix":"ACH"}]}}`,
		`{"properties":{"STREET":[{"suffix":"EIGH"}]}}`, `{"properties":{"STREET":[{"suffix":"RY"}]}}`,
		`{"properties":{"STREET":[{"suffix":"AK"}]}}`}},
	{"equals-ignore-case", []string{
		`{"properties":{"STREET":[{"equals-ignore-case":"jefferson"}]}}`, `{"properties":{"STREET":[{"equals-ignore-case":"Beach"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"cranleigh"}]}}`, `{"properties":{"STREET":[{"equals-ignore-case":"gEARY"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"oak"}]}}`}},
	{"wildcard", []string{
		`{"properties":{"STREET":[{"wildcard":"J*SON"}]}}`, `{"properties":{"STREET":[{"wildcard":"*EA*"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"CR*GH"}]}}`, `{"properties":{"STREET":[{"wildcard":"G*R*"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"*K"}]}}`}},
	{"anything-but", []string{
		`{"properties":{"STREET":[{"anything-but":["JEFFERSON","BEACH"]}]}}`, `{"properties":{"STREET":[{"anything-but":"BAY"}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"prefix":"G"}}]}}`, `{"properties":{"ST_TYPE":[{"anything-but":["ST","AVE"]}]}}`,
		`{"properties":{"ODD_EVEN":[{"anything-but":"E"}]}}`}},
	{"exists", []string{
		`{"properties":{"ST_TYPE":[{"exists":true}]}}`, `{"properties":{"STREET":[{"exists":true}]}}`,
		`{"properties":{"FOO":[{"exists":false}]}}`, `{"geometry":{"type":[{"exists":true}]}}`,
		`{"properties":{"LOT_NUM":[{"exists":true}]}}`}},
	{"numeric", []string{
		`{"geometry":{"coordinates":[{"numeric":[">",-122.45,"<",-122.44]}]}}`, `{"geometry":{"coordinates":[{"numeric":[">=",37.75,"<=",37.76]}]}}`,
		`{"geometry":{"coordinates":[{"numeric":["<",-122.5]}]}}`, `{"geometry":{"coordinates":[{"numeric":[">",37.8]}]}}`,
		`{"geometry":{"coordinates":[{"numeric":["=",0]}]}}`}},
	{"cidr", []string{
		`{"properties":{"STREET":[{"cidr":"10.0.0.0/8"}]}}`, `{"properties":{"STREET":[{"cidr":"192.168.0.0/16"}]}}`,
		`{"properties":{"MAPBLKLOT":[{"cidr":"10.0.0.0/24"}]}}`, `{"properties":{"STREET":[{"cidr":"2001:db8::/32"}]}}`,
		`{"properties":{"BLKLOT":[{"cidr":"172.16.0.0/12"}]}}`}},
}

func BenchmarkCitylots(b *testing.B) {
	events, total := loadCitylots(b)
	for _, tc := range citylotsPatterns {
		b.Run(fmt.Sprintf("op=%s/patterns=%d", tc.name, len(tc.patterns)), func(b *testing.B) {
			m := New()
			for i, p := range tc.patterns {
				if err := m.Add(fmt.Sprint(i), []byte(p)); err != nil {
					b.Fatal(err)
				}
			}
			benchMatch(b, m, events, total)
		})
	}
}

// mixedPatterns returns n patterns, half exact and half prefix, on the
// citylots properties, in the manner of quamina's mixed benchmark: most name
// values that few events hold, a few match many events.
func mixedPatterns(n int) []string {
	r := rand.New(rand.NewSource(int64(n)))
	streets := []string{"JEFFERSON", "BEACH", "NORTH POINT", "BAY", "FRANCISCO", "CHESTNUT", "LOMBARD", "GREENWICH", "FILBERT", "UNION"}
	out := make([]string, n)
	for i := range out {
		var f, v string
		switch r.Intn(4) {
		case 0:
			f, v = "MAPBLKLOT", fmt.Sprintf("%04d%03d", r.Intn(7600)+1, r.Intn(300)+1)
		case 1:
			f, v = "BLKLOT", fmt.Sprintf("%04d%03d", r.Intn(7600)+1, r.Intn(300)+1)
		case 2:
			f, v = "BLOCK_NUM", fmt.Sprintf("%04d", r.Intn(7600)+1)
		default:
			f, v = "STREET", fmt.Sprintf("%s %d", streets[r.Intn(len(streets))], r.Intn(n))
			if i%1000 == 3 {
				v = streets[r.Intn(len(streets))] // a few that match many events
			}
		}
		if i%2 == 0 {
			out[i] = fmt.Sprintf(`{"properties":{%q:[%q]}}`, f, v)
		} else {
			out[i] = fmt.Sprintf(`{"properties":{%q:[{"prefix":%q}]}}`, f, v[:len(v)-1])
		}
	}
	return out
}

func BenchmarkCitylotsMixed(b *testing.B) {
	events, total := loadCitylots(b)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("op=exact+prefix/patterns=%d", n), func(b *testing.B) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			m := New()
			for i, p := range mixedPatterns(n) {
				if err := m.Add(fmt.Sprint("rule-", i), []byte(p)); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			benchMatch(b, m, events, total)
			b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-MiB")
			runtime.KeepAlive(m)
		})
	}
}

// BenchmarkAdd measures Add (parse and insert) into a Matcher that already
// holds many patterns.
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("present=%d", n), func(b *testing.B) {
			m := New()
			for i, p := range mixedPatterns(n) {
				if err := m.Add(fmt.Sprint("rule-", i), []byte(p)); err != nil {
					b.Fatal(err)
				}
			}
			more := mixedPatterns(n + 50_000)
			i := 0
			cpu := startCPU()
			for b.Loop() {
				if err := m.Add(fmt.Sprint("new-", i), []byte(more[i%len(more)])); err != nil {
					b.Fatal(err)
				}
				i++
			}
			cpu.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "patterns/s")
		})
	}
}

func benchMatch(b *testing.B, m *Matcher, events [][]byte, total int) {
	b.Helper()
	b.SetBytes(int64(total / len(events)))
	b.ReportAllocs()
	var dst []string
	matches := 0
	i := 0
	cpu := startCPU()
	for b.Loop() {
		var err error
		dst, err = m.AppendMatch(dst[:0], events[i])
		if err != nil {
			b.Fatal(err)
		}
		matches += len(dst)
		if i++; i == len(events) {
			i = 0
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
}

// BenchmarkScan measures the event walk alone: the citylots events against
// a pattern on a field they lack, so that every value is skipped.
func BenchmarkScan(b *testing.B) {
	events, total := loadCitylots(b)
	m := New()
	if err := m.Add("none", []byte(`{"nothing":["here"]}`)); err != nil {
		b.Fatal(err)
	}
	benchMatch(b, m, events, total)
}
