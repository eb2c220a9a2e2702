// Package router moves events from the bus streams to the delivery queue.
//
// For each event bus it keeps a compiled [pattern.Matcher] of the bus's
// enabled rules, kept up to date from the catalog's watch (a rule put,
// enabled, disabled or deleted changes the matcher at once, without stopping
// matching). A durable consumer reads the bus's stream; for every event it
// asks the matcher which rules match, and for each of those rules' targets it
// applies the target's transform and builds a [delivery.Job]. The jobs of a
// batch of events are stored in the delivery stream before the events are
// acknowledged on the bus stream: an event is never acknowledged before every
// job it produced is stored, so a crash between the two re-routes it (the
// delivery stream deduplicates the jobs by event id and target).
//
// The router also tells the delivery runner which targets exist, and puts
// events on a bus for event-bus targets ([Router.PutEvent]).
//
// CloudTrail's read-only API calls reach only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: a bus message carrying the
// header [HeaderReadOnlyAPICall] is matched against those rules only.
package router
