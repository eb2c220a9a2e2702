package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rssWatch samples the process's resident set (Linux: /proc/self/status)
// until stopped.
type rssWatch struct {
	mu               sync.Mutex
	start, peak, end int64
	done             chan struct{}
	stopped          chan struct{}
	once             sync.Once
}

func newRSSWatch(every time.Duration) *rssWatch {
	w := &rssWatch{done: make(chan struct{}), stopped: make(chan struct{})}
	w.start = residentSet()
	w.peak = w.start
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				r := residentSet()
				w.mu.Lock()
				w.peak = max(w.peak, r)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the resident set at the start, at
// most and now, in bytes (0 where it cannot be read).
func (w *rssWatch) stop() (start, peak, end int64) {
	w.once.Do(func() {
		close(w.done)
		<-w.stopped
		w.end = residentSet()
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.start, max(w.peak, w.end), w.end
}

// residentSet is the process's resident set in bytes, 0 if unknown.
func residentSet() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// writeHeapProfile writes the heap profile, after a collection, to file.
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// latencyHist counts durations in buckets 1% wide, from 1 µs to over a
// minute, so that a run of any length keeps a fixed, small memory (a slice
// of every latency grew by hundreds of megabytes in ten minutes and showed
// as the server's resident set). Safe for concurrent use.
type latencyHist struct {
	buckets [latencyBuckets]atomic.Int64
	max     atomic.Int64
}

const latencyBuckets = 1900 // 1.01^1900 µs ≈ 160 s

var logGrowth = math.Log(1.01)

func (h *latencyHist) add(d time.Duration) {
	us := max(float64(d)/float64(time.Microsecond), 1)
	i := min(int(math.Log(us)/logGrowth), latencyBuckets-1)
	h.buckets[i].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *latencyHist) count() int64 {
	var n int64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// quantile is the upper bound of the bucket holding the q-th quantile.
func (h *latencyHist) quantile(q float64) time.Duration {
	n := h.count()
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			d := time.Duration(math.Pow(1.01, float64(i+1)) * float64(time.Microsecond))
			return min(d, time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

func (h *latencyHist) summary() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", r(h.quantile(0.50)), r(h.quantile(0.90)), r(h.quantile(0.99)), r(time.Duration(h.max.Load())))
}
