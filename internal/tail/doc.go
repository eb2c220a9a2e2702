// Package tail streams a bus's events as they arrive, with the rules each matched and how each
// delivery ended, to the console's live tail, across every Conveyor that shares the NATS server.
package tail
