// Package audit holds Conveyor's CloudTrail: the record of every API call.
//
// It builds AWS CloudTrail records from API calls (Build), appends them to the
// audit log, a JetStream stream that is the truth (Recorder), keeps an embedded
// SQLite index of that stream for event-history lookups (Index, fed by Follow),
// and turns management records into "AWS API Call via CloudTrail" events for the
// default bus (Forward, through a Forwarder the router provides).
//
// It does not serve the CloudTrail API (package cloudtrail does) and does not
// route events to rules (the router does).
package audit
