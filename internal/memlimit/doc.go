// Package memlimit keeps the Go runtime's soft memory limit at a target, or
// at one and a half times the live heap when that is more.
package memlimit
