// Package server wires one Conveyor process together: the JetStream store
// (embedded, or an external NATS cluster), the catalog, the router, the
// delivery runner with its target adapters, and the HTTP surface (the AWS
// APIs on POST /, /healthz and Prometheus /metrics). cmd/conveyor's serve
// command is a thin shell around New and Run.
package server
