package sqs

// SetWindow sets the index window of the queues opened from now on.
func (s *Service) SetWindow(n int) { s.window = n }

// Indexed returns how many messages queue name holds in memory.
func (s *Service) Indexed(name string) int {
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// SetInFlightLimit sets the in-flight limit of the queues opened from now on.
func (s *Service) SetInFlightLimit(n int) { s.inFlightLimit = n }
