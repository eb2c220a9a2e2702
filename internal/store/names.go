package store

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// tokenEncoding is base32 with the RFC 4648 "extended hex" alphabet in lower
// case: its characters (0-9, a-v) are valid in every NATS name, and it keeps
// the byte order of the input.
var tokenEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// maxNameLen is JetStream's limit on stream and consumer names (JSMaxNameLen).
const maxNameLen = 255

// Token encodes an arbitrary name (a bus name, a rule name, an ARN…) as a
// string that is valid as a NATS subject token, a stream name and a consumer
// name. It is injective: two different names never share a token. The empty
// name encodes to "_" (which no non-empty name produces).
func Token(name string) string {
	if name == "" {
		return "_"
	}
	return tokenEncoding.EncodeToString([]byte(name))
}

// ParseToken is the inverse of [Token].
func ParseToken(tok string) (string, bool) {
	if tok == "_" {
		return "", true
	}
	b, err := tokenEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Name builds a stream or consumer name from a fixed prefix (letters, digits,
// '-' or '_' only, chosen by the caller) and names encoded with [Token],
// joined with '-'. When the result would exceed JetStream's 255-byte limit it
// is prefix + "-z" + hex(SHA-256 of the parts) instead; 'z' is outside the
// token alphabet, so hashed names never equal unhashed ones.
func Name(prefix string, parts ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range parts {
		b.WriteByte('-')
		b.WriteString(Token(p))
	}
	if b.Len() <= maxNameLen {
		return b.String()
	}
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		var n [8]byte
		l := uint64(len(p))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return prefix + "-z" + hex.EncodeToString(h.Sum(nil))
}

// Subject builds a NATS subject from a fixed prefix (dot-separated literal
// tokens chosen by the caller) and names encoded with [Token], one token each.
func Subject(prefix string, parts ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range parts {
		b.WriteByte('.')
		b.WriteString(Token(p))
	}
	return b.String()
}

// BusStream is the name of the stream that holds the events of bus name.
func BusStream(bus string) string { return Name("BUS", bus) }

// BusSubject is the subject events of bus name are published on.
func BusSubject(bus string) string { return Subject("conveyor.bus", bus) }

// DeliveryStream is the one work-queue stream holding the delivery jobs of
// every rule target; each target reads its own subject.
const DeliveryStream = "DELIVERY"

// DeliverySubjects is the subject filter of [DeliveryStream].
const DeliverySubjects = "conveyor.deliver.>"

// DeliverySubject is the subject of the delivery jobs of target id of rule on
// bus.
func DeliverySubject(bus, rule, id string) string {
	return Subject("conveyor.deliver", bus, rule, id)
}

// DeliveryConsumer is the name of the durable consumer that delivers the jobs
// of target id of rule on bus.
func DeliveryConsumer(bus, rule, id string) string { return Name("T", bus, rule, id) }

// QueueStream is the name of the stream holding the messages of the queue
// with ARN arn (a dead-letter queue, and the stream package sqs serves).
func QueueStream(arn string) string { return Name("QUEUE", arn) }

// QueueSubject is the subject messages of the queue with ARN arn are
// published on.
func QueueSubject(arn string) string { return Subject("conveyor.queue", arn) }

// QueueJournalSubject is the subject of the journal records (receive
// states and deletes) of the queue with ARN arn, kept in the queue's
// stream beside its messages.
func QueueJournalSubject(arn string) string { return Subject("conveyor.queuejournal", arn) }

// KVStream is the name of the stream that holds the key-value bucket
// named bucket (nats.go's naming).
func KVStream(bucket string) string { return "KV_" + bucket }

// KVSubject is the subject of key in the bucket's stream; key may be a
// wildcard filter ("s.*", ">").
func KVSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// QueueMetadataKey is the stream metadata key holding a queue stream's ARN.
const QueueMetadataKey = "conveyor.queue"
