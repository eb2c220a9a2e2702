package sqs

import (
	"reflect"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/awsapi"
)

var usualRequests = []string{
	`{"QueueUrl":"http://127.0.0.1:4010/000000000000/q","MaxNumberOfMessages":10,"WaitTimeSeconds":1}`,
	`{"QueueUrl":"u","AttributeNames":["All"],"MessageSystemAttributeNames":["SenderId"],"MessageAttributeNames":["a.*"],"VisibilityTimeout":0,"ReceiveRequestAttemptId":"x"}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":-3}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":1.5}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":1e1}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":99999999999999999999}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":null}`,
	`{"QueueUrl":"u","MaxNumberOfMessages":"10"}`,
	`{"QueueUrl":"u","Entries":[{"Id":"0","ReceiptHandle":"h"},{"Id":"1","ReceiptHandle":"i"}]}`,
	`{"QueueUrl":"u","Entries":[]}`,
	`{"QueueUrl":"u","Entries":[{"Id":"0","MessageBody":"{\"order\":1}"},{"Id":"1","MessageBody":"b","DelaySeconds":5,"MessageGroupId":"g","MessageDeduplicationId":"d"}]}`,
	`{"QueueUrl":"u","Entries":[{"Id":"0","MessageBody":"b","MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}]}`,
	`{"QueueUrl":"u","Entries":[{"Id":"0","Id":"1"}]}`,
	`{"QueueUrl":"u","queueUrl":"v"}`,
	`{"QueueUrl":"\u0075"}`,
	"{\"QueueUrl\":\"\x1b\\\\b\"}",
	`{"QueueUrl":"u"} x`, `{`, ``,
}

func TestUsualRequests(t *testing.T) {
	var read int
	for _, b := range usualRequests {
		if checkUsual(t, []byte(b)) {
			read++
		}
	}
	if read < 5 {
		t.Errorf("the decoders read %d of the requests, want the usual ones", read)
	}
}

// FuzzUsualRequests: what the hand-written decoders read, they read as the
// reflective decoder does.
func FuzzUsualRequests(f *testing.F) {
	for _, b := range usualRequests {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkUsual(t, b) })
}

// checkUsual decodes b with each hand-written decoder and, where one reads
// it, compares with the reflective decoder; it reports whether any read it.
func checkUsual(t *testing.T, b []byte) bool {
	t.Helper()
	read := false
	for _, pair := range [][2]any{{new(receiveMessageInput), new(receiveMessageInput)},
		{new(deleteMessageBatchInput), new(deleteMessageBatchInput)}, {new(sendMessageBatchInput), new(sendMessageBatchInput)}} {
		fast, slow := pair[0], pair[1]
		if !fast.(awsapi.JSONDecoder).DecodeJSON(new(fastjson.Parser), b) {
			continue
		}
		read = true
		if err := awsapi.Unmarshal(b, slow); err != nil {
			t.Fatalf("%T read %q, the reflective decoder refuses it: %v", fast, b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: %T read %+v, the reflective decoder %+v", b, fast, fast, slow)
		}
	}
	return read
}
