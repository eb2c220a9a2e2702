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
// # Direct delivery
//
// Most jobs never enter the stream: the router offers each one to
// [Runner.TryDirect] (the jobs of the events it routes together at once, to
// [Runner.TryDirectAll]), which makes the first attempt at once when the target
// is healthy (no recent failure or slow answer) and has room (at most
// Config.DirectMaxInFlight invocations running, Config.DirectQueue jobs
// waiting, none waiting longer than a second). The router acks the bus
// message only after every one of its jobs is settled: delivered, or stored
// in the stream after a failed first attempt (with PriorAttempts and
// RetryAt, so that the retry policy and backoff count that attempt), or
// dead-lettered, or refused by TryDirect and stored by the router. A crash
// before that leaves the event unacknowledged on its bus, and it is routed
// again: still at least once, never zero times. A target that fails or
// answers slowly is skipped by direct delivery for a while (from
// Config.BackoffBase, doubling, at most 30 seconds, or until one of its
// stored jobs succeeds), so it holds few events on the bus and never the
// bus's loop. An invoker that takes a target's jobs in batches
// ([BatchInvoker]: a queue's or an archive's messages are written together) gets the jobs
// that wait together in one call. TryDirectAll hands such a target's jobs
// over in groups of up to [MaxDirectBatch] (taken or refused whole), so
// that a worker finds a routed batch's jobs together, where jobs offered
// one by one are often taken one by one as they come; a worker gathers
// whole groups until its batch holds MaxDirectBatch jobs. Such a target
// gets another worker only when those it has are a batch or more behind.
//
// # Retries
//
// The attempt number is JetStream's delivery count (plus PriorAttempts, less
// the first delivery, which only waits for RetryAt, for a job stored after
// a direct attempt). A retryable failure is
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
