// Package delivery holds Conveyor's at-least-once delivery of matched events
// to rule targets: the [Job] the router enqueues per matched rule×target, the
// [Queue] (one JetStream work-queue stream, one subject and one durable
// consumer per target), and the [Runner] that invokes targets with retries,
// exponential backoff with jitter, and dead-letter queues.
//
// # The at-least-once chain
//
// The router acks a bus message only after [Queue.Enqueue] returned, which
// happens only after JetStream stored every job. A job leaves the delivery
// stream only when the runner acks it: after the target accepted it, or after
// the job was stored in its dead-letter stream, or — with no dead-letter queue
// — after a metric and an error log line recorded the loss. A crash at any
// point leaves the job unacknowledged, and JetStream delivers it again
// (after the consumer's AckWait): targets may see a job twice, never zero
// times.
//
// # Retries
//
// The attempt number is JetStream's delivery count. A retryable failure is
// negatively acknowledged with a delay (exponential backoff from
// Config.BackoffBase, capped at Config.BackoffMax, with jitter) until the
// job's RetryPolicy is spent: MaximumRetryAttempts retries, or a next attempt
// that would fall later than MaximumEventAgeInSeconds after the event's
// ingestion. Every job gets at least one attempt, however old. A
// non-retryable failure ([Failure] with Retryable false, for example an HTTP
// 400) is dead-lettered at once.
//
// # Dead-letter queues
//
// A job's DeadLetterARN (an SQS queue ARN) names a JetStream stream
// (store.QueueStream). The message body is the payload the target would have
// received; headers carry EventBridge's message attributes ERROR_CODE,
// ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (when retries ran out),
// RETRY_ATTEMPTS, RULE_ARN and TARGET_ARN, plus Conveyor-Event-Id and
// Conveyor-Target-Id (what a redrive needs). With Config.DeadLetterQueues
// set (the SQS service), a dead-letter queue that does not exist is not
// created: the event is dropped and counted in
// conveyor_invocations_failed_to_be_sent_to_dlq_total, as EventBridge does.
//
// # Isolation
//
// Each target has its own consumer and loop, at most Config.MaxInFlight
// concurrent invocations and at most Config.MaxAckPending jobs out of the
// stream (waiting retries included): a slow or failing target holds only its
// own jobs, never another target's or the router's.
//
// See metrics.go for the metric names.
package delivery
