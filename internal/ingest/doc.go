// Package ingest holds the EventBridge operations that take events in:
// PutEvents, which validates each entry as AWS does, stamps it with an id and
// a time, and answers only once JetStream has stored it on its bus's stream;
// and TestEventPattern, which matches one event against one pattern.
//
// Routing the stored events to rules and targets is the router's work.
package ingest
