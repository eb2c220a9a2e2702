// Package ingest holds the EventBridge operations that take events in:
// PutEvents, which validates each request entry as AWS does (Entry carries
// AWS's per-entry ErrorCode/ErrorMessage pairs, the entry size rule and the
// request-level limits: 10 entries, 256 KB), stamps it with an id and a time
// in the caller's account and region, and answers only once JetStream has
// stored it on its bus's stream (a call's entries for one bus together, as one
// message: [store.Batched]); and TestEventPattern, which matches one event
// against one pattern.
//
// Routing the stored events to rules and targets is the router's work.
package ingest
