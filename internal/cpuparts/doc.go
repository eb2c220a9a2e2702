// Package cpuparts sums a CPU profile's time by the value of one pprof
// label, so that a benchmark can say what each labelled part of a process
// (the server, the load generator, a call's path) cost.
package cpuparts
