// Package router moves events from the bus streams to the delivery queue.
//
// For each event bus it keeps a compiled [pattern.Matcher] of the bus's
// enabled rules, kept up to date from the catalog's watch (a rule put,
// enabled, disabled or deleted changes the matcher at once, without stopping
// matching). A durable consumer reads the bus's stream, whose messages hold
// one event or the events of one PutEvents call ([store.Batched]); for
// every event it
// asks the matcher which rules match, and for each of those rules' targets it
// applies the target's transform and builds a [delivery.Job]. Each job is
// first tried directly ([delivery.Runner.TryDirectAll], the jobs of the
// messages routed together at once); the jobs a direct
// attempt cannot take (the target is failing or busy, or the attempt failed)
// are stored in the delivery stream. A bus message is acknowledged only once
// every job its events produced is delivered, stored or dead-lettered, so a crash
// before that routes it again (at least once). Events being delivered report
// their progress to the bus stream, so they are routed again within the ack
// wait after a crash; an event whose jobs could not be stored is routed again
// after a delay that doubles, up to a minute.
//
// The router also tells the delivery runner which targets exist, and puts
// events on a bus for event-bus targets ([Router.PutEvent]).
//
// CloudTrail's read-only API calls reach only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: a bus message carrying the
// header [HeaderReadOnlyAPICall] is matched against those rules only.
package router
