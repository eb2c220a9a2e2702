// Package chaos is Conveyor's fault-injection suite: its tests run real
// `conveyor serve` processes and kill them, fill their store, flood them with
// slow clients and oversized requests, and check the promises that must hold
// through all of it.
//
// The promises: no acknowledged event is lost; no API call takes effect
// without its CloudTrail record; no secret appears in a record, a log line or
// /metrics; /healthz tells the truth throughout.
//
// The package holds tests only. They build the conveyor binary once (with the
// go command that runs them) and start it on 127.0.0.1:0 in temporary data
// directories. `go test -short` skips them.
package chaos
