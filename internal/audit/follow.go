package audit

import (
	"github.com/conveyor/conveyor/internal/store"

	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// applyBatch is the most messages applied to the index in one transaction.
const applyBatch = 5000

// applyLinger is how long the index waits for more records to apply with
// the ones it has, when they keep coming.
const applyLinger = 10 * time.Millisecond

// Follow keeps the index up to date with the audit log until ctx ends: it
// catches up from the index's own position (so a deleted index file is
// rebuilt from the whole stream) and then applies each new management record
// as it arrives. The position lives in the index, in the same transaction as
// the records, rather than in a durable consumer's ack floor: the two cannot
// disagree, and each process's index follows the stream on its own (an
// ordered consumer, recreated after any gap or reconnect). An index ahead of
// the stream (the stream was deleted and recreated) is emptied and rebuilt.
// Errors are logged and retried; Follow returns only ctx's error.
func (ix *Index) Follow(ctx context.Context, js jetstream.JetStream) error {
	store.Restart(ctx, ix.log, "audit index: following the audit log", func(ctx context.Context) error { return ix.follow(ctx, js) })
	return ctx.Err()
}

func (ix *Index) follow(ctx context.Context, js jetstream.JetStream) error {
	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("audit index: stream %s: %w", StreamName, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("audit index: stream %s: %w", StreamName, err)
	}
	pos, err := ix.LastSeq(ctx)
	if err != nil {
		return err
	}
	if pos > info.State.LastSeq {
		ix.log.Warn("audit index is ahead of the audit log (the stream was recreated); rebuilding", "index_seq", pos,
			"stream_seq", info.State.LastSeq)
		if err := ix.Reset(ctx); err != nil {
			return err
		}
		pos = 0
	}
	cons, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{ManagementSubjects},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    pos + 1,
	})
	if err != nil {
		return fmt.Errorf("audit index: consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(applyBatch))
	if err != nil {
		return fmt.Errorf("audit index: consume: %w", err)
	}
	defer it.Stop()
	stopOnDone := context.AfterFunc(ctx, it.Stop)
	defer stopOnDone()

	batch := make([]Entry, 0, applyBatch)
	// decoded holds the batch's decompressed messages, which its entries
	// are slices of; Apply keeps none of them, so the next batch reuses it.
	var decoded []byte
	var applied time.Time // when the last batch was applied
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("audit index: next: %w", err)
		}
		decoded = decoded[:0]
		if batch, err = ix.appendEntries(ctx, js, batch[:0], msg, &decoded); err != nil {
			return err
		}
		// Take what is already here, up to a batch. A record that comes
		// alone is applied at once; but records that keep coming (an
		// import, a burst of calls) are waited for a little, as a
		// transaction of a thousand records costs a fraction of a
		// thousand transactions.
		var linger time.Time
		if time.Since(applied) < applyLinger {
			linger = time.Now().Add(applyLinger)
		}
		for len(batch) < applyBatch {
			if numPending(msg) > 0 {
				msg, err = it.Next()
			} else if wait := time.Until(linger); wait > 0 {
				msg, err = it.Next(jetstream.NextMaxWait(wait))
				if errors.Is(err, nats.ErrTimeout) {
					err = nil
					break
				}
			} else {
				break
			}
			if err != nil {
				break
			}
			if batch, err = ix.appendEntries(ctx, js, batch, msg, &decoded); err != nil {
				return err
			}
		}
		if err := ix.Apply(ctx, batch); err != nil {
			return err
		}
		applied = time.Now()
		ix.setApplied(batch[len(batch)-1].Seq)
		if err != nil {
			return fmt.Errorf("audit index: next: %w", err)
		}
	}
}

// appendEntries appends the records of audit-log message msg: one, or up
// to MaxRecordsPerMessage stored together by an import. A message is
// always applied whole, in one transaction, so that the index's position
// (a message's sequence) says which records it has. A compressed message
// that does not decompress is one empty record, which Apply then finds is
// not JSON. A compressed message is decompressed onto the end of decoded;
// one compressed with an audit log's dictionary is kept as it is (see
// Entry.Frame), and its dictionary read from js's bucket if the index has
// not got it. An error is one to try again (the bucket did not answer).
func (ix *Index) appendEntries(ctx context.Context, js jetstream.JetStream, dst []Entry, msg jetstream.Msg, decoded *[]byte) ([]Entry, error) {
	var seq uint64
	if md, err := msg.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	h := msg.Headers()
	sc := h.Get(HeaderScope)
	data := msg.Data()
	var frame []byte
	if enc := h.Get(HeaderEncoding); enc != "" {
		var zh zstd.Header
		if err := zh.Decode(data); err == nil && zh.DictionaryID >= minStreamDictID {
			ix.dictMu.Lock()
			_, ok := ix.dicts[zh.DictionaryID]
			ix.dictMu.Unlock()
			if !ok {
				if err := ix.fetchStreamDict(ctx, js, zh.DictionaryID); err != nil {
					return dst, err
				}
			}
			frame = data
		}
		var err error
		n := len(*decoded)
		if *decoded, err = ix.decodeLogMessage(enc, data, *decoded); err != nil {
			ix.log.Warn("audit index: a message does not decompress; skipped", "seq", seq, "err", err)
			*decoded, data, frame = (*decoded)[:n], nil, nil
		} else {
			data = (*decoded)[n:]
		}
	}
	k := 0
	for rec := range store.Batched(data) {
		if k == MaxRecordsPerMessage {
			ix.log.Warn("audit index: a message holds more records than it may; the rest are skipped", "seq", seq)
			frame = nil // its group would hold records the index has not
			break
		}
		dst = append(dst, Entry{Seq: seq, K: k, Record: rec, Scope: sc})
		k++
	}
	if frame != nil && k > 0 {
		dst[len(dst)-k].Frame = frame
	}
	return dst, nil
}

// fetchStreamDict reads the audit log's dictionary id into the index. A
// dictionary the bucket has not got (or no bucket) is waited for
// (fetchStreamDict fails, and is called again as the index follows the log
// again) for the index's dictPatience: a replica of the bucket may lag
// behind the message. After that it is no error: the messages of that
// dictionary do not decompress, and are skipped (and the bucket is not
// asked again until the index is opened again).
func (ix *Index) fetchStreamDict(ctx context.Context, js jetstream.JetStream, id uint32) error {
	first, seen := ix.missing[id]
	if seen && time.Since(first) >= ix.dictPatience {
		return nil
	}
	kv, err := js.KeyValue(ctx, DictionaryBucket)
	if err == nil {
		err = ix.streamDict(ctx, kv, id)
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrKeyNotFound) {
		if !seen {
			first = time.Now()
			ix.missing[id] = first
		}
		if time.Since(first) < ix.dictPatience {
			return fmt.Errorf("audit index: imported records' dictionary %d is not in its bucket yet: %w", id, err)
		}
		ix.log.Error("audit index: the dictionary of imported records is missing; their messages are skipped", "dictionary", id, "err", err)
		return nil
	}
	if errors.Is(err, errOtherDictionary) {
		ix.missing[id] = time.Time{} // waited for long enough
		ix.log.Error("audit index: the dictionary of imported records is damaged; their messages are skipped", "dictionary", id, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit index: %w", err)
	}
	return nil
}

func numPending(msg jetstream.Msg) uint64 {
	md, err := msg.Metadata()
	if err != nil {
		return 0
	}
	return md.NumPending
}

// progress tracks how far Follow has come, for WaitFor.
type progress struct {
	mu      sync.Mutex
	applied uint64
	changed chan struct{}
}

func (ix *Index) setApplied(seq uint64) {
	ix.prog.mu.Lock()
	ix.prog.applied = seq
	if ix.prog.changed != nil {
		close(ix.prog.changed)
		ix.prog.changed = nil
	}
	ix.prog.mu.Unlock()
}

// WaitFor waits until the index has applied the audit log up to stream
// sequence seq (of a management record), or ctx ends.
func (ix *Index) WaitFor(ctx context.Context, seq uint64) error {
	for {
		ix.prog.mu.Lock()
		if ix.prog.applied >= seq {
			ix.prog.mu.Unlock()
			return nil
		}
		if ix.prog.changed == nil {
			ix.prog.changed = make(chan struct{})
		}
		ch := ix.prog.changed
		ix.prog.mu.Unlock()
		if pos, err := ix.LastSeq(ctx); err == nil && pos >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
