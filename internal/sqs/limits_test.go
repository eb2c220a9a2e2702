package sqs

import (
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// TestRequestLimitsHoldMessages: the protocol layer's request bounds (one table in awsapi)
// let the largest legal message and batch through, even with every character \u-escaped at
// three times its size; raising MaximumMessageSize's ceiling must raise them too.
func TestRequestLimitsHoldMessages(t *testing.T) {
	largest := int64(3*intAttrs[attrMaximumMessageSize].max) + 10<<10
	for _, op := range []string{"SendMessage", "SendMessageBatch"} {
		if got := awsapi.RequestLimit("sqs", op); got < largest {
			t.Errorf("RequestLimit(sqs, %s) = %d, less than a maximal message escaped (%d)", op, got, largest)
		}
	}
}
