package sqs

import (
	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// ReceiveMessage's, DeleteMessageBatch's and SendMessageBatch's usual
// requests are read without
// reflection (awsapi.JSONDecoder); anything else goes to the reflective
// decoder.

// DecodeJSON reads the usual ReceiveMessage request.
func (in *receiveMessageInput) DecodeJSON(p *fastjson.Parser, body []byte) bool {
	v, ok := awsapi.ParseUsual(p, body)
	return ok && awsapi.Members(v, func(k []byte, v *fastjson.Value) (uint64, bool) {
		var ok bool
		switch string(k) {
		case "QueueUrl":
			in.QueueUrl, ok = awsapi.UsualString(v)
			return 1, ok
		case "AttributeNames":
			in.AttributeNames.names, ok = awsapi.UsualStrings(v)
			return 2, ok
		case "MessageSystemAttributeNames":
			in.MessageSystemAttributeNames, ok = awsapi.UsualStrings(v)
			return 4, ok
		case "MessageAttributeNames":
			in.MessageAttributeNames, ok = awsapi.UsualStrings(v)
			return 8, ok
		case "MaxNumberOfMessages":
			in.MaxNumberOfMessages, ok = usualIntPtr(v)
			return 16, ok
		case "VisibilityTimeout":
			in.VisibilityTimeout, ok = usualIntPtr(v)
			return 32, ok
		case "WaitTimeSeconds":
			in.WaitTimeSeconds, ok = usualIntPtr(v)
			return 64, ok
		case "ReceiveRequestAttemptId":
			in.ReceiveRequestAttemptId, ok = awsapi.UsualString(v)
			return 128, ok
		}
		return 0, false
	})
}

// DecodeJSON reads the usual DeleteMessageBatch request.
func (in *deleteMessageBatchInput) DecodeJSON(p *fastjson.Parser, body []byte) bool {
	v, ok := awsapi.ParseUsual(p, body)
	return ok && awsapi.Members(v, func(k []byte, v *fastjson.Value) (uint64, bool) {
		switch string(k) {
		case "QueueUrl":
			var ok bool
			in.QueueUrl, ok = awsapi.UsualString(v)
			return 1, ok
		case "Entries":
			var ok bool
			in.Entries, ok = awsapi.UsualObjects(v, (*deleteBatchEntry).member)
			return 2, ok
		}
		return 0, false
	})
}

// DecodeJSON reads the usual SendMessageBatch request: entries without
// message attributes.
func (in *sendMessageBatchInput) DecodeJSON(p *fastjson.Parser, body []byte) bool {
	v, ok := awsapi.ParseUsual(p, body)
	return ok && awsapi.Members(v, func(k []byte, v *fastjson.Value) (uint64, bool) {
		switch string(k) {
		case "QueueUrl":
			var ok bool
			in.QueueUrl, ok = awsapi.UsualString(v)
			return 1, ok
		case "Entries":
			var ok bool
			in.Entries, ok = awsapi.UsualObjects(v, (*sendMessageBatchEntry).member)
			return 2, ok
		}
		return 0, false
	})
}

// member reads one member of a DeleteMessageBatch entry.
func (e *deleteBatchEntry) member(k []byte, v *fastjson.Value) (uint64, bool) {
	var ok bool
	switch string(k) {
	case "Id":
		e.Id, ok = awsapi.UsualString(v)
		return 1, ok
	case "ReceiptHandle":
		e.ReceiptHandle, ok = awsapi.UsualString(v)
		return 2, ok
	}
	return 0, false
}

// member reads one member of a SendMessageBatch entry.
func (e *sendMessageBatchEntry) member(k []byte, v *fastjson.Value) (uint64, bool) {
	var ok bool
	switch string(k) {
	case "Id":
		e.Id, ok = awsapi.UsualString(v)
		return 1, ok
	case "MessageBody":
		var s string
		s, ok = awsapi.UsualString(v)
		e.MessageBody = &s
		return 2, ok
	case "DelaySeconds":
		e.DelaySeconds, ok = usualIntPtr(v)
		return 4, ok
	case "MessageDeduplicationId":
		e.MessageDeduplicationId, ok = awsapi.UsualString(v)
		return 8, ok
	case "MessageGroupId":
		e.MessageGroupId, ok = awsapi.UsualString(v)
		return 16, ok
	}
	return 0, false
}

func usualIntPtr(v *fastjson.Value) (*int, bool) {
	n, ok := awsapi.UsualInt(v)
	return &n, ok
}
