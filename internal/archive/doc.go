// Package archive holds EventBridge's archives and replays: the API
// operations (CreateArchive, DescribeArchive, ListArchives, UpdateArchive,
// DeleteArchive, StartReplay, DescribeReplay, ListReplays, CancelReplay),
// the delivery of events into archives, and the replay runner.
//
// An archive is, as on AWS, a managed rule on its bus: CreateArchive writes
// the archive's record, a JetStream stream ARCHIVE-<token(name)> whose
// MaxAge is the retention (0 days: kept forever), and a rule
// Events-Archive-<name> (ManagedBy events.amazonaws.com) whose pattern is
// the archive's pattern (every event when none) and whose one target is the
// archive's ARN. The router routes to that target like any other; the
// delivery runner's invoker ([Service.Invoker]) appends the event to the
// archive's stream, deduplicated by event id. Replayed events are never
// archived: replays skip managed rules, and the invoker drops events that
// carry replay-name.
//
// A replay is a record in the KV bucket (states STARTING, RUNNING,
// COMPLETED, CANCELLING, CANCELLED, FAILED). As on AWS, at most
// Config.ReplayLimit (10) replays are STARTING or RUNNING at once in an
// account and region. Every Conveyor process runs a
// replay worker; the first to move a STARTING replay to RUNNING with a
// compare-and-set write runs it. A replay whose EventEndTime is still to
// come (AWS takes one) stays RUNNING until that time has passed. It reads
// the archive's stream from the start up to the last event stored when it
// began reading, keeps the
// events whose time is in [EventStartTime, EventEndTime), adds
// replay-name, and hands them to the router, which matches them against
// the destination bus's rules (only the FilterArns rules when given, never
// managed rules) and stores delivery jobs. CancelReplay moves the replay
// to CANCELLING; the worker notices between batches and ends it CANCELLED.
//
// Records live in the KV bucket conveyor-archives: archive.<token(name)>
// and replay.<token(name)>.
package archive
