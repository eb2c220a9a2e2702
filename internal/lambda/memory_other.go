//go:build !linux

package lambda

import "os"

// limitMemory leaves the process unbounded: only Linux lets Conveyor set another process's
// limits.
func limitMemory(pid, megabytes int) error { return nil }

// peakMemory is unknown off Linux.
func peakMemory(pid int) (megabytes int, ok bool) { return 0, false }

// exitedPeak is unknown off Linux.
func exitedPeak(ps *os.ProcessState) int { return 0 }
