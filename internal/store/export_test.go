package store

import (
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LeaderReads makes kv and st read from their leader through js, as a
// replicated store's buckets do.
func LeaderReads(kv jetstream.KeyValue, st jetstream.Stream, js nats.JetStreamContext) (jetstream.KeyValue, jetstream.Stream) {
	p := provisioning{leader: js}
	kv, _ = p.leaderReads(kv, nil)
	st, _ = p.leaderStreamReads(st, nil)
	return kv, st
}

// Done is closed when the mirror has stopped following its bucket.
func (m *Mirror[V]) Done() <-chan struct{} { return m.done }

// ParseAck is parseAck, for its test.
var ParseAck = parseAck
