// Package rulestats keeps the last hour of each rule's delivery counters (matched, invoked,
// failed, dead-lettered), a sample a minute from the Prometheus registry, for the console.
package rulestats
