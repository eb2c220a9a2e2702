package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
)

// stateSubject is the subject of a receive state's key in the bucket.
func (s *Service) stateSubject(key string) string { return store.KVSubject(Bucket, key) }

// addQueueLocked makes q one of the service's queues. s.mu is held.
func (s *Service) addQueueLocked(q *queue) {
	s.queues[q.arn] = q
	s.byGen[q.gen] = q
}

// removeQueueLocked removes q from the service's queues. s.mu is held.
func (s *Service) removeQueueLocked(q *queue) {
	if s.queues[q.arn] == q {
		delete(s.queues, q.arn)
	}
	if s.byGen[q.gen] == q {
		delete(s.byGen, q.gen)
	}
	s.moves.forget(q.arn)
}

// queueByGen returns the open queue of generation gen, or nil.
func (s *Service) queueByGen(gen string) *queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byGen[gen]
}

// share starts what keeps this process's queues in step with the other
// processes on the same NATS server or cluster: watches of the bucket's
// queue records (queues created, changed, purged or deleted elsewhere) and
// receive states (messages received, their visibility changed, or deleted
// elsewhere: a purge marker replaces the state). It runs before the
// queues are loaded, so that nothing written meanwhile is missed; what is
// heard twice is applied once (records and states carry revisions).
func (s *Service) share(ctx context.Context) error {
	records, err := s.kv.Watch(ctx, "q.>", jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("sqs: watch queue records: %w", err)
	}
	states, err := s.kv.Watch(ctx, "s.>", jetstream.UpdatesOnly())
	if err != nil {
		_ = records.Stop()
		return fmt.Errorf("sqs: watch receive states: %w", err)
	}
	s.unshare = func() {
		_ = records.Stop()
		_ = states.Stop()
	}
	go func() {
		for e := range records.Updates() {
			if e != nil {
				s.recordChanged(ctx, e)
			}
		}
	}()
	go func() {
		for e := range states.Updates() {
			if e == nil {
				continue
			}
			// s.<generation>.<sequence>
			parts := strings.Split(e.Key(), ".")
			if len(parts) != 3 {
				continue
			}
			seq, err := strconv.ParseUint(parts[2], 10, 64)
			if err != nil {
				continue
			}
			q := s.queueByGen(parts[1])
			if q == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				// Deleted: the process that deleted it removes it from
				// the stream; this one does if that one has not after
				// twice as long.
				q.mu.Lock()
				q.deletedLocked(seq, s.now(), 2*s.reapStraggler(), 0)
				q.mu.Unlock()
				continue
			}
			if st, ok := parseState(e.Value(), e.Revision()); ok {
				q.applyState(seq, st)
			}
		}
	}()
	return nil
}

// recordChanged applies a change of a queue record made by any process: a
// queue created elsewhere is opened, a changed one takes its new record, a
// deleted one is closed (its stream and states are removed by the process
// that deleted it).
func (s *Service) recordChanged(ctx context.Context, e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var cur *queue
	for _, q := range s.queues {
		if q.record().key == e.Key() {
			cur = q
			break
		}
	}
	if e.Operation() != jetstream.KeyValuePut {
		if cur != nil && cur.record().revision < e.Revision() {
			s.removeQueueLocked(cur)
			cur.stop()
		}
		return
	}
	var rec queueRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		s.log.Error("sqs: unreadable queue record skipped", "key", e.Key(), "err", err)
		return
	}
	rec.revision, rec.key = e.Revision(), e.Key()
	if cur != nil && cur.gen == rec.Generation {
		cur.setRecord(&rec)
		return
	}
	if cur != nil {
		if cur.record().revision >= rec.revision {
			return
		}
		// Deleted and created again elsewhere.
		s.removeQueueLocked(cur)
		cur.stop()
	}
	q, err := s.openQueue(ctx, &rec)
	if err != nil {
		s.log.Error("sqs: open queue created by another process", "queue", rec.Name, "err", err)
		return
	}
	s.addQueueLocked(q)
}

// errQueueExists is createRecord's answer when another process created the
// queue first.
var errQueueExists = errors.New("sqs: queue record exists")
