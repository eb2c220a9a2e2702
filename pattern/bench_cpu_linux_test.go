package pattern

import (
	"runtime"
	"syscall"
	"testing"
)

// cpuClock measures the CPU time of the benchmark's thread (RUSAGE_THREAD).
type cpuClock struct{ start int64 }

const rusageThread = 1

func threadCPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func startCPU() cpuClock {
	runtime.LockOSThread()
	return cpuClock{start: threadCPUTime()}
}

func (c cpuClock) report(b *testing.B) {
	end := threadCPUTime()
	runtime.UnlockOSThread()
	if c.start > 0 && end > c.start {
		b.ReportMetric(float64(end-c.start)/float64(b.N), "cpu-ns/op")
	}
}
