// Package procgroup runs a command in a process group of its own, so that killing it kills
// its children too (a script's sleep, a pipeline), which would otherwise hold its output open.
package procgroup
