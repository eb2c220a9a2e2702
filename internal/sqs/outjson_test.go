package sqs

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The answers that write themselves write what encoding/json writes.
func TestOutputsAppendAsEncodingJSON(t *testing.T) {
	s, odd := "v", "tab\t quote\" back\\ ctl\x01 <&> é \xff"
	outs := []interface{ AppendJSON([]byte) []byte }{
		&receiveMessageOutput{},
		&receiveMessageOutput{Messages: []Message{{MessageId: "m", ReceiptHandle: "h", MD5OfBody: "5", Body: odd}}},
		&receiveMessageOutput{Messages: []Message{
			{MessageId: "a", ReceiptHandle: "h", MD5OfBody: "5", Body: "{}", Attributes: map[string]string{"SentTimestamp": "1", "ApproximateReceiveCount": "2"},
				MD5OfMessageAttributes: "x", MessageAttributes: map[string]MessageAttributeValue{
					"z": {DataType: "String", StringValue: &s},
					"b": {DataType: "Binary", BinaryValue: []byte{0, 1, 0xfe}},
					"l": {DataType: "String", StringListValues: []string{"p", odd}, BinaryListValues: [][]byte{{1}, nil}},
				}},
			{MessageId: "b", ReceiptHandle: "h2", MD5OfBody: "6", Body: "x"},
		}},
		&batchHandleOutput{Successful: []batchID{}, Failed: []batchFailure{}},
		&batchHandleOutput{Successful: []batchID{{Id: "1"}}, Failed: []batchFailure{{Id: "2", SenderFault: true, Code: "C", Message: odd}, {Id: "3", Code: "D"}}},
		&batchHandleOutput{},
		&sendMessageBatchOutput{Successful: []sendMessageBatchResult{{Id: "1", sendMessageOutput: sendMessageOutput{MessageId: "m", MD5OfMessageBody: "5"}},
			{Id: "2", sendMessageOutput: sendMessageOutput{MessageId: "n", MD5OfMessageBody: "6", MD5OfMessageAttributes: "7", MD5OfMessageSystemAttributes: "8", SequenceNumber: "9"}}},
			Failed: []batchFailure{}},
	}
	for _, o := range outs {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o); err != nil {
			t.Fatal(err)
		}
		got := o.AppendJSON(nil)
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("AppendJSON\n%s\nencoding/json\n%s", got, want.Bytes())
		}
	}
}
