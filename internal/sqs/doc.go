// Package sqs is Conveyor's built-in message queues: the SQS API (AWS JSON
// 1.0, X-Amz-Target AmazonSQS.<Operation>) on JetStream.
//
// # Storage
//
// Each queue is one JetStream stream, store.QueueStream(arn), configured by
// delivery.DLQStreamConfig: the same stream the delivery runner dead-letters
// into, so a rule target's DeadLetterConfig naming a queue is read with
// ReceiveMessage. A message is a stream message: the body is the data, the
// SQS message attributes, delay and sender travel in headers (Sqs-*). The
// dead-letter headers the runner writes (ERROR_CODE, ERROR_MESSAGE,
// EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, RULE_ARN, TARGET_ARN) are read
// as String (RETRY_ATTEMPTS: Number) message attributes, as EventBridge adds
// them.
//
// The events a rule's queue target delivers together (Deliver) are one
// stream message, a pack, on a queue this process serves alone that is not
// FIFO: one JetStream write, acknowledgement and delivery to the index for
// up to 64 messages (see pack.go). Each message of a pack is a message of
// its own, with an ID no stream sequence reaches; the pack leaves the
// stream once all of its messages are deleted.
//
// Queue records (attributes, tags, creation time) live in the KV bucket
// "conveyor-sqs" under q.<token(name)>; the bucket also keeps the receipt
// handle secret. A received message's receive state (receive count, first
// receive time and the time it becomes visible again) and its delete are
// kept in the queue's journal (journal.go): records in the queue's own
// stream, one a receive or a delete batch, on
// store.QueueJournalSubject. A FIFO queue, and any queue when other
// processes share the NATS server, keep them in the bucket instead, one
// key a message (s.<queue generation>.<stream sequence>). A message
// received but not deleted therefore comes back after its visibility
// timeout also after a restart, with its receive count.
//
// # Visibility
//
// Each queue keeps an in-memory index of its messages (sequence → state),
// filled by an ordered, headers-only consumer of its stream (so messages
// the runner publishes are seen as well) and the receive states loaded from
// KV. The bucket is the truth; the index is this process's view of it. The index holds at most a window of 10,000 messages never received;
// the consumer waits while it is full, and the rest stay in the stream, to
// be indexed in order as receives make room. At most 120,000 messages are
// in flight (OverLimit past that, as on SQS), so a queue's memory is bounded
// whatever its backlog. ReceiveMessage takes the oldest visible messages, stamps them
// invisible for the visibility timeout, claims them by writing their
// receive state with a compare-and-set write against the state's revision
// the index knew (a message whose state changed since, received or
// deleted by another process, is not this receive's, and the index takes
// the bucket's state of it), and reads the claimed bodies from the stream
// by sequence. A FIFO queue's messages are claimed in order, and a group
// stops at its first message not claimed. A waiting (long-polling)
// receive sleeps until a message is indexed, one becomes visible, or its
// wait ends. On a journaled queue, the claim is one journal record for the
// receive's messages, with no compare-and-set: no other process serves the
// queue. DeleteMessage stores the delete (a journal record, or a purge
// marker replacing the message's state in the bucket that expires after
// five minutes: a per-message TTL, which needs NATS 2.11 or later, so
// markers do not pile up), and the message leaves the stream (see reap.go).
//
// Receipt handles are the queue's generation (random, new for every
// CreateQueue), the sequence and the receive count, authenticated with an
// HMAC: a handle that was not issued by this server for this queue is
// ReceiptHandleIsInvalid. A handle of an earlier receive still deletes the
// message (as standard SQS queues do in practice); ChangeMessageVisibility
// needs the latest one.
//
// # Departures from SQS
//
// FIFO queues keep each message group in order (one batch of a group in
// flight at a time) and store a deduplication id once in five minutes (see
// fifo.go); a receive retried with its ReceiveRequestAttemptId within five
// minutes gets the same messages (see attempt.go; kept by the process that
// answered). FifoThroughputLimit is kept but nothing is throttled. Messages
// are limited to
// 1 MiB (MaximumMessageSize 1024–1048576, 1048576 by default), as on SQS
// since 2025. Policy, KMS and RedriveAllowPolicy attributes are kept and returned but
// have no effect. A queue name may be reused at once after DeleteQueue.
//
// # Several processes
//
// Conveyors sharing one NATS server or cluster all serve every queue. Each
// watches the bucket: queue records (a queue created, changed, purged or
// deleted through one is in effect on the others at once; CreateQueue
// creates the record only if there is none) and receive states (a message
// received through one is counted in flight, and not offered, by the
// others; ChangeMessageVisibility through one wakes long polls on the
// others; a message deleted through one is dropped by the others when they
// see its purge marker, and one that misses it finds the message gone
// when its visibility timeout ends). The compare-and-set claim
// is what makes a message in flight go to one receive only, whatever the
// watches have delivered yet. A purge is claimed in the queue record
// (Purged, PurgedBelow: the 60-second rule holds across processes, and
// each process drops the messages below PurgedBelow). Receipt handles are
// signed with a key kept in the bucket, so any process takes any handle.
// With the embedded NATS server (one process per data directory) there are
// no watches.
//
// # Dead letters and redrive
//
// A dead-letter ARN naming a queue that does not exist is not created: the
// runner drops the event and counts it as failed to be sent to the
// dead-letter queue, as EventBridge does. The Conveyor-specific operation
// ConveyorQueues.RedriveDeadLetters moves a queue's dead-lettered events back
// to the rule target named by their RULE_ARN/TARGET_ARN attributes (as
// delivery jobs, with the target's current retry policy and dead-letter
// queue) and deletes them from the queue.
package sqs
