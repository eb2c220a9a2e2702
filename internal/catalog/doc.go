// Package catalog holds Conveyor's EventBridge control-plane records — event
// buses, rules with their targets, connections, API destinations and the tags
// of each — persisted in one JetStream key-value bucket.
//
// Every change goes through a compare-and-set loop on the key's revision
// (Create for a new key, Update with the last revision for an existing one,
// Delete with the last revision), so concurrent API calls, in one process or
// in several processes sharing a NATS cluster, never lose each other's
// writes. A rule and its targets are one record: a PutTargets or
// RemoveTargets call changes the rule atomically.
//
// Watch streams the records (a snapshot, then every change) for the router.
// The lists (Buses, Rules, CountRules, Connections, APIDestinations) read an
// in-memory view of the bucket that one watch keeps (a store.Mirror), not
// the bucket: a list per call would open a JetStream consumer, and a stream
// allows 1,000. A list still sees every write answered before it, by this
// process or another sharing the bucket.
//
// The package does not validate requests or produce AWS errors: that is the
// eventbridge package's job. It knows AWS's ARN forms, because records carry
// their ARNs and tags are addressed by ARN.
package catalog
