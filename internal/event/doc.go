// Package event holds the EventBridge event envelope, and what a valid detail is.
//
// Event (version, id, detail-type, source, account, time, region, resources,
// detail, replay-name) is written in AWS's field order by a hand-written
// encoder on the PutEvents hot path. ValidDetail says whether a detail is a
// JSON object nested at most MaxDetailDepth deep, in one pass. The package
// depends on nothing of Conveyor's: PutEvents' request entries and their
// validation are package ingest's.
package event
