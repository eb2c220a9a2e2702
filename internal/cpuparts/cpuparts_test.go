package cpuparts

import (
	"bytes"
	"context"
	"runtime/pprof"
	"testing"
	"time"
)

// TestByLabel profiles a labelled busy loop and an unlabelled one and
// finds the labelled one's time under its label.
func TestByLabel(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("a CPU profile is running already:", err)
	}
	spin := func(d time.Duration) (n int) {
		for end := time.Now().Add(d); time.Now().Before(end); n++ {
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
