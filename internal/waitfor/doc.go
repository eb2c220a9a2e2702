// Package waitfor polls a test's condition until it holds, failing the test when a deadline passes first.
//
// It is the one way Conveyor's tests wait for something that has no event to
// wait on: a record that reaches the event history, a file a target writes,
// a counter that moves. [True] waits up to [Timeout]; [Within] takes its own
// deadline, for a condition that must hold soon to pass; [Err] takes a
// condition that says what is still missing, and the test's failure reports
// its last answer.
//
// The condition runs on the caller's goroutine, which must be the test's
// own: it may call t.Fatal, and a timeout ends the test with t.Fatalf.
//
// The package does not prove that something does NOT happen: a test that
// checks, say, that an event is delivered only once sleeps for as long as a
// second delivery would take to arrive, and says so in a comment.
package waitfor
