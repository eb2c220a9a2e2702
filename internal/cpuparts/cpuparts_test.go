package cpuparts

import (
	"bytes"
	"context"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time the test's process has used so far.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestByLabel profiles a labelled busy loop and an unlabelled one and
// finds the labelled one's time under its label.
func TestByLabel(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("a CPU profile is running already:", err)
	}
	// The loop spins until the process has used 300 ms of CPU (on a loaded machine that
	// takes longer than 300 ms), or for 10 s at most.
	spin := func(cpu time.Duration) (n int) {
		start := processCPU(t)
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && processCPU(t)-start < cpu; n++ {
			for i := 0; i < 1e5; i++ {
				n += i & 1
			}
		}
		return n
	}
	done := make(chan int)
	go pprof.Do(context.Background(), pprof.Labels("part", "busy"), func(context.Context) { done <- spin(300 * time.Millisecond) })
	<-done
	pprof.StopCPUProfile()
	parts, err := ByLabel(buf.Bytes(), "part")
	if err != nil {
		t.Fatal(err)
	}
	if parts["busy"] < 100*time.Millisecond {
		t.Fatalf("busy: %v of 300ms (parts %v)", parts["busy"], parts)
	}
	if _, err := ByLabel([]byte("not a profile"), "part"); err == nil {
		t.Fatal("garbage parsed")
	}
}
