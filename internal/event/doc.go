// Package event holds the EventBridge event envelope and PutEvents' request
// entries with AWS's validation.
//
// Event (version, id, detail-type, source, account, time, region, resources,
// detail, replay-name) is written in AWS's field order by a hand-written
// encoder on the PutEvents hot path. Entry carries AWS's per-entry validation
// (ErrorCode/ErrorMessage pairs), the entry size rule and the request-level
// limits (10 entries, 256 KB).
//
// It does not know buses, rules or storage: whether the entry's bus exists is the caller's
// check (UnknownBus gives AWS's answer for it).
package event
