// Package audit holds Conveyor's CloudTrail: the record of every API call.
//
// It builds AWS CloudTrail records from API calls (Builder), appends them to
// the audit log, a JetStream stream that is the truth (Recorder, an awsapi
// observer), keeps this process's event-history index of that stream in an
// embedded SQLite file (Index, fed by Follow, rebuilt from the stream when
// the file is missing), applies the retention period to both (stream MaxAge,
// Index.Expire), and turns management records into "AWS API Call via
// CloudTrail" events for the default bus (Forward, through a Forwarder the
// router provides). New assembles all of it.
//
// A message of the audit log is one record, except for records imported
// from CloudTrail log files: up to MaxRecordsPerMessage of them share a
// message (store.AppendBatch), compressed with zstd (HeaderEncoding), which
// the index decompresses, reads apart and applies whole. The index numbers a
// record by its message's sequence and its place in the message (Entry.ID).
//
// What is recorded: every call that reaches an operation of a service served
// by awsapi, failed calls included (with errorCode and errorMessage). Data
// events (PutEvents, SQS message calls, Lambda Invoke, S3 object calls) only when
// Config.DataEvents is on, and never in the event history nor on the bus.
// Deliveries of events to targets are not API calls and are not recorded, so
// a rule reacting to API calls cannot feed itself through its own deliveries.
//
// Records are bounded whatever the call carried (requestParameters and
// responseElements over MaxElementsSize become {"omitted":true}, as CloudTrail
// writes them; long strings are cut), so that every record fits the audit
// log; a record the log refuses all the same is logged and counted, never
// retried forever. Secret members (Password, ApiKeyValue, ClientSecret,
// connection parameter values, Sql, GraphQLOperation) are hidden under any
// spelling that folds onto their names.
//
// It does not serve the CloudTrail API (package cloudtrail does) and does not
// route events to rules (the router does).
package audit
