// Package explain tells why an event matches an event pattern or not: each field of the
// pattern, with its condition, the event's values at that path, and whether they satisfy it.
package explain
