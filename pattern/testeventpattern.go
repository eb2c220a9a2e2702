package pattern

// Test reports whether event matches pattern, as EventBridge's
// TestEventPattern does. An invalid pattern gives Validate's error (an
// *InvalidPatternError or a *PatternTooLongError); an event that is not a
// JSON object with the envelope fields AWS requires gives CheckEvent's
// *InvalidEventError. The pattern is checked first.
//
// Test compiles the pattern into a Matcher of its own: to match many events,
// build a Matcher once instead.
func Test(pattern, event []byte, opts ...Option) (bool, error) {
	p, err := parse(pattern, opts...)
	if err != nil {
		return false, err
	}
	if err := CheckEvent(event); err != nil {
		return false, err
	}
	m := New(opts...)
	m.addPattern("", p)
	var buf [1]string
	ids, err := m.AppendMatch(buf[:0], event)
	if err != nil {
		// CheckEvent accepted the event, so the matcher must too.
		return false, &InvalidEventError{Reason: err.Error()}
	}
	return len(ids) > 0, nil
}
