//go:build linux

package lambda

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// limitMemory bounds the data segment of the started process pid (its heap and private
// writable mappings, and those of the processes it starts) by the function's MemorySize, so
// that a function asking for more than it was given fails as it would on Lambda. It is set
// as soon as the process has started: what a process allocates before that is not bounded.
func limitMemory(pid, megabytes int) error {
	n := uint64(megabytes) << 20
	return unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: n, Max: n}, nil)
}

// peakMemory is the most memory the running process pid has held (its VmHWM), in MB rounded
// up: Lambda's Max Memory Used. ok is false when it cannot be read (the process is gone).
func peakMemory(pid int) (megabytes int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, found := strings.CutPrefix(line, "VmHWM:"); found {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, false
			}
			return (kb + 1023) / 1024, true
		}
	}
	return 0, false
}

// exitedPeak is the most memory the exited process ps held, in MB rounded up (0 unknown).
func exitedPeak(ps *os.ProcessState) int {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		return int((ru.Maxrss + 1023) / 1024) // kilobytes on Linux
	}
	return 0
}
