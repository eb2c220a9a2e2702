// Package store holds Conveyor's persistence on NATS JetStream: it opens (or
// connects to) the JetStream server, and knows how Conveyor's names map onto
// JetStream's streams, subjects and consumers.
//
// # Two modes, one code path
//
// By default [Open] starts an embedded nats-server with JetStream in the same
// process. Its file store lives under Config.DataDir (in DataDir/jetstream),
// it listens on no port (DontListen) and the client connects through an
// in-process pipe. With Config.NATSURL set, Open connects to that external
// server (or cluster) instead and creates streams with Config.Replicas
// replicas. Everything above the store only sees a [jetstream.JetStream].
//
// # Durability
//
// [Store.PublishEvent] and [Store.PublishEvents] return only after JetStream
// has stored every message (the publish acknowledgement). JetStream writes each
// message to its file store before acknowledging it, and fsyncs on a timer:
// every two minutes by default. An acknowledged message therefore survives the
// process being killed (kill -9) but not an operating-system crash or power
// loss within that window. With Config.Sync set to "always", JetStream fsyncs
// every write before acknowledging it (SyncAlways): acknowledged messages then
// also survive an OS crash, at a large cost in throughput. Replicated streams
// on an external cluster (Replicas: 3) are the other way to survive losing a
// machine. [Store.Close] drains the client and shuts the embedded server down
// cleanly, which flushes the file store.
//
// # Availability
//
// On an external cluster, a write that the cluster cannot acknowledge (a
// stream without a leader, a leader without its quorum, a connection that
// dropped) fails after Config.RequestTimeout at most (five seconds by
// default), and [Unavailable] tells such failures from refusals (a full
// store). Such a write may still be stored later; it is never reported as
// stored.
//
// # Reading one's writes
//
// A bucket's stream (and an object store's) lets any of its servers answer
// "direct gets", and on a cluster a follower may not yet hold a write its
// leader acknowledged. On a replicated store, the buckets, bucket streams
// and object stores that [Store.JetStream] opens therefore read from their
// stream's leader (leaderkv.go): a process reads what it has just written.
//
// # Names
//
// EventBridge names (bus names may contain '/', '.', '-' and '_') are not all
// valid in NATS subjects or stream names. Every stream, subject and consumer
// name this package builds carries names through one encoding, [Token] (the
// catalog's KV keys have an encoding of their own, see package catalog): lowercase base32 ("extended hex" alphabet, 0-9a-v, no
// padding) of the name's bytes. Token is injective, and its output is a valid
// subject token, stream name and consumer name. Names built from several
// tokens join them with '-' (not in the alphabet), so they stay injective.
// A stream or consumer name longer than JetStream's 255-byte limit is replaced
// by its prefix, 'z' (not in the alphabet either) and the hex SHA-256 of the
// parts, so long names stay distinct from short ones and from each other (up
// to SHA-256 collisions). Subjects have no such limit and always carry the
// full tokens.
//
// Layout:
//
//	bus stream        BUS-<token(bus)>      subject conveyor.bus.<token(bus)>; a message is one event or a batch ([Batched])
//	delivery stream   DELIVERY (work queue) subjects conveyor.deliver.<token(bus)>.<token(rule)>.<token(target id)>
//	delivery consumer T-<token(bus)>-<token(rule)>-<token(target id)>, durable, filtered on its target's subject
//	queue stream      QUEUE-<token(queue ARN)>  subject conveyor.queue.<token(queue ARN)>
//
// Bus and queue streams record the original name in their metadata
// ([BusMetadataKey], [QueueMetadataKey]) so operators can tell streams apart
// with `nats stream info`.
//
// This package does not hold the catalog, delivery queues or the router; those
// packages use [Store.JetStream] and the naming helpers here.
package store
