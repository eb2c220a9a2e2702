package store

// Done is closed when the mirror has stopped following its bucket.
func (m *Mirror[V]) Done() <-chan struct{} { return m.done }

// ParseAck is parseAck, for its test.
var ParseAck = parseAck
