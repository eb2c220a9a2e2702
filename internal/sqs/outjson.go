package sqs

import (
	"encoding/base64"
	"maps"
	"slices"

	"github.com/conveyor/conveyor/internal/event"
)

// The answers of ReceiveMessage and the message batches write themselves
// (awsapi.JSONAppender): no reflection on the paths every message takes.

// AppendJSON appends the answer as encoding/json would write it.
func (o *receiveMessageOutput) AppendJSON(b []byte) []byte {
	if len(o.Messages) == 0 {
		return append(b, "{}"...)
	}
	n := 16
	for i := range o.Messages {
		m := &o.Messages[i]
		// The members' names and values, and room for some escapes.
		n += 120 + len(m.MessageId) + len(m.ReceiptHandle) + len(m.MD5OfBody) + len(m.Body) + len(m.Body)/8
	}
	b = slices.Grow(b, n)
	b = append(b, `{"Messages":[`...)
	for i := range o.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = o.Messages[i].appendJSON(b)
	}
	return append(b, "]}"...)
}

func (m *Message) appendJSON(b []byte) []byte {
	b = append(b, `{"MessageId":`...)
	b = event.AppendString(b, m.MessageId)
	b = append(b, `,"ReceiptHandle":`...)
	b = event.AppendString(b, m.ReceiptHandle)
	b = append(b, `,"MD5OfBody":`...)
	b = event.AppendString(b, m.MD5OfBody)
	b = append(b, `,"Body":`...)
	b = event.AppendString(b, m.Body)
	if len(m.Attributes) > 0 {
		b = append(b, `,"Attributes":{`...)
		for i, k := range slices.Sorted(maps.Keys(m.Attributes)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, k)
			b = append(b, ':')
			b = event.AppendString(b, m.Attributes[k])
		}
		b = append(b, '}')
	}
	if m.MD5OfMessageAttributes != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = event.AppendString(b, m.MD5OfMessageAttributes)
	}
	if len(m.MessageAttributes) > 0 {
		b = append(b, `,"MessageAttributes":{`...)
		for i, k := range slices.Sorted(maps.Keys(m.MessageAttributes)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, k)
			b = append(b, ':')
			v := m.MessageAttributes[k]
			b = v.appendJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (v *MessageAttributeValue) appendJSON(b []byte) []byte {
	b = append(b, `{"DataType":`...)
	b = event.AppendString(b, v.DataType)
	if v.StringValue != nil {
		b = append(b, `,"StringValue":`...)
		b = event.AppendString(b, *v.StringValue)
	}
	if len(v.BinaryValue) > 0 {
		b = append(b, `,"BinaryValue":"`...)
		b = base64.StdEncoding.AppendEncode(b, v.BinaryValue)
		b = append(b, '"')
	}
	if len(v.StringListValues) > 0 {
		b = append(b, `,"StringListValues":[`...)
		for i, s := range v.StringListValues {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if len(v.BinaryListValues) > 0 {
		b = append(b, `,"BinaryListValues":[`...)
		for i, bv := range v.BinaryListValues {
			if i > 0 {
				b = append(b, ',')
			}
			if bv == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, bv)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// AppendJSON appends the answer as encoding/json would write it.
func (o *batchHandleOutput) AppendJSON(b []byte) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range o.Successful {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = event.AppendString(b, s.Id)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendFailures(b, o.Failed)
	return append(b, '}')
}

// AppendJSON appends the answer as encoding/json would write it.
func (o *sendMessageBatchOutput) AppendJSON(b []byte) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Successful {
			if i > 0 {
				b = append(b, ',')
			}
			r := &o.Successful[i]
			b = append(b, `{"Id":`...)
			b = event.AppendString(b, r.Id)
			b = r.sendMessageOutput.appendMembers(b)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendFailures(b, o.Failed)
	return append(b, '}')
}

func appendFailures(b []byte, fs []batchFailure) []byte {
	if fs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":`...)
		b = event.AppendString(b, f.Id)
		if f.SenderFault {
			b = append(b, `,"SenderFault":true`...)
		} else {
			b = append(b, `,"SenderFault":false`...)
		}
		b = append(b, `,"Code":`...)
		b = event.AppendString(b, f.Code)
		if f.Message != "" {
			b = append(b, `,"Message":`...)
			b = event.AppendString(b, f.Message)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendMembers appends o's members, each after a comma.
func (o *sendMessageOutput) appendMembers(b []byte) []byte {
	b = append(b, `,"MessageId":`...)
	b = event.AppendString(b, o.MessageId)
	b = append(b, `,"MD5OfMessageBody":`...)
	b = event.AppendString(b, o.MD5OfMessageBody)
	for _, m := range []struct{ name, v string }{{"MD5OfMessageAttributes", o.MD5OfMessageAttributes},
		{"MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes}, {"SequenceNumber", o.SequenceNumber}} {
		if m.v != "" {
			b = append(b, ',')
			b = event.AppendString(b, m.name)
			b = append(b, ':')
			b = event.AppendString(b, m.v)
		}
	}
	return b
}
