package sqs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// FIFO queues: messages of one message group are received in the order they were sent, one
// batch of a group in flight at a time; a message whose deduplication id was sent in the last
// five minutes (or the retention period, when shorter) is accepted and not stored again. The
// group and the deduplication id travel in the message's headers; the deduplication is
// JetStream's (the message id, within the stream's duplicate window).

// fifoDedupWindow is how long a deduplication id keeps a message from being stored again.
const fifoDedupWindow = 5 * time.Minute

// Headers of a message's group and deduplication id.
const (
	headerGroup = "Sqs-Group"
	headerDedup = "Sqs-Dedup"
)

// fifoIDRE is a MessageGroupId or MessageDeduplicationId: 1 to 128 alphanumeric and
// punctuation characters.
var fifoIDRE = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")

// checkFifoID validates a MessageGroupId or MessageDeduplicationId (param names which).
func checkFifoID(param, v string) error {
	if !fifoIDRE.MatchString(v) {
		return invalidParameter("Value %s for parameter %s is invalid. Reason: %s can only include alphanumeric and punctuation characters. 1 to 128 in length.", v, param, param)
	}
	return nil
}

// fifoMessage fills m's FIFO fields for a queue with record rec: its group, its
// deduplication id (the body's SHA-256 with content-based deduplication), and the id
// JetStream deduplicates by (per group with DeduplicationScope messageGroup).
func fifoMessage(rec *queueRecord, m *outgoing, group, dedup string) error {
	if group == "" {
		return missingParameter("MessageGroupId")
	}
	if err := checkFifoID("MessageGroupId", group); err != nil {
		return err
	}
	if dedup == "" {
		if cbd, _ := rec.attrValue(attrContentBasedDedup); cbd != "true" {
			return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		sum := sha256.Sum256(m.body)
		dedup = hex.EncodeToString(sum[:])
	} else if err := checkFifoID("MessageDeduplicationId", dedup); err != nil {
		return err
	}
	m.group, m.dedup = group, dedup
	m.msgID = "q/" + dedup
	if sc, _ := rec.attrValue(attrDeduplicationScope); sc == dedupScopeGroup {
		m.msgID = fmt.Sprintf("g/%d/%s/%s", len(group), group, dedup)
	}
	return nil
}

// sequenceNumber is the SequenceNumber of a FIFO queue's message with stream sequence seq:
// a number that grows with each message, as SQS's 20-digit ones do.
func sequenceNumber(seq uint64) string { return fmt.Sprintf("%020d", seq) }
