package lambda

import (
	"maps"
	"slices"
	"testing"

	"github.com/conveyor/conveyor/internal/sqs"
)

// A partial batch response fails the messages it names; one that is not
// JSON, or names no message of the batch, or a message by an empty or null
// itemIdentifier, fails the whole batch, as Lambda's success and failure
// conditions say; an empty or null response or list fails none.
func TestBatchItemFailures(t *testing.T) {
	msgs := []sqs.Message{{MessageId: "m1"}, {MessageId: "m2"}, {MessageId: "m3"}}
	for _, c := range []struct {
		resp   string
		failed []string // nil: none
		whole  bool     // the whole batch failed
	}{
		{resp: ``},
		{resp: `null`},
		{resp: `{}`},
		{resp: `"done"`},
		{resp: `{"batchItemFailures":null}`},
		{resp: `{"batchItemFailures":[]}`},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, failed: []string{"m2"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m3"}]}`, failed: []string{"m1", "m3"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"not-a-message"}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":""}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemId":"m1"}]}`, whole: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"m1"},"m2"]}`, whole: true},
		{resp: `{"batchItemFailures":"m1"}`, whole: true},
		{resp: `{"batchItemFailures":[`, whole: true},
	} {
		failed, err := batchItemFailures([]byte(c.resp), msgs)
		if (err != nil) != c.whole {
			t.Errorf("%s: error %v, want the whole batch failed %v", c.resp, err, c.whole)
			continue
		}
		if got := slices.Sorted(maps.Keys(failed)); !slices.Equal(got, c.failed) {
			t.Errorf("%s: failed %v, want %v", c.resp, got, c.failed)
		}
	}
}
