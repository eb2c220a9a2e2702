//go:build linux

package lambda

import "golang.org/x/sys/unix"

// limitMemory bounds the data segment of the started process pid (its heap and private
// writable mappings, and those of the processes it starts) by the function's MemorySize, so
// that a function asking for more than it was given fails as it would on Lambda. It is set
// as soon as the process has started: what a process allocates before that is not bounded.
func limitMemory(pid, megabytes int) error {
	n := uint64(megabytes) << 20
	return unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: n, Max: n}, nil)
}
