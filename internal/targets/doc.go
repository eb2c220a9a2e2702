// Package targets holds the target adapters that deliver a [delivery.Job]:
// API destinations over HTTP ([HTTP]), another event bus of the account
// ([Bus]), an SQS queue of the built-in queues ([Queue]), and a log of JSON
// lines ([Log]); and the [Registry] that picks the
// adapter from the target's ARN.
//
// # Target ARNs
//
//	arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>  HTTP, through the API destination and its connection
//	arn:aws:events:<region>:<account>:event-bus/<name>               put the event on that bus
//	arn:aws:sqs:<region>:<account>:<name>                            send the event as a message to that queue
//	arn:aws:logs:<region>:<account>:log-group:<name>[:*]             append one JSON line per event to <log dir>/<name>.log
//	arn:conveyor:log:::stdout  (or :::stderr)                        one JSON line per event on the server's standard output (error)
//
// The log-group form is CloudWatch Logs' own ARN, so a rule written for AWS
// keeps working: the log group becomes a file under the configured log
// directory, its '/' separators making sub-directories (a group name
// "/aws/events/orders" writes <log dir>/aws/events/orders.log).
//
// # Errors
//
// Adapters return *[Error]: an AWS-style error code (the ERROR_CODE of a
// dead-letter message), a message, and whether a retry may succeed. The
// delivery runner reads them through [delivery.Failure].
package targets
