package sqs

import (
	"time"

	"github.com/conveyor/conveyor/internal/scope"
)

// SetWindow sets the index window of the queues opened from now on.
func (s *Service) SetWindow(n int) { s.window = n }

// Indexed returns how many messages queue name (of Conveyor's own account
// and region) holds in memory.
func (s *Service) Indexed(name string) int {
	q := s.queueByARN(QueueARN(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region}, name))
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// SetInFlightLimit sets the in-flight limit of the queues opened from now on.
func (s *Service) SetInFlightLimit(n int) { s.inFlightLimit = n }

// SetReap sets how long deletes gather before the reaper purges, and how
// long a deleted message waits for a purge (see reap.go), for the queues'
// reapers from their next round.
func (s *Service) SetReap(every, straggler time.Duration) {
	s.reapEveryNs.Store(int64(every))
	s.reapStragglerNs.Store(int64(straggler))
}

// Waiting returns how many receives wait in a long poll on queue name (of
// Conveyor's own account and region).
func (s *Service) Waiting(name string) int {
	q := s.queueByARN(QueueARN(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region}, name))
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiters)
}
