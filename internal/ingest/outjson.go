package ingest

import (
	"strconv"

	"github.com/conveyor/conveyor/internal/event"
)

// AppendJSON appends PutEvents' answer as encoding/json would write it
// (awsapi.JSONAppender: no reflection on the path of every event).
func (o *PutEventsOutput) AppendJSON(b []byte) []byte {
	b = append(b, `{"Entries":`...)
	if o.Entries == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, e := range o.Entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			first := true
			for _, m := range [...]struct{ name, v string }{{`"EventId":`, e.EventId}, {`"ErrorCode":`, e.ErrorCode}, {`"ErrorMessage":`, e.ErrorMessage}} {
				if m.v == "" {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, m.name...)
				b = event.AppendString(b, m.v)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"FailedEntryCount":`...)
	b = strconv.AppendInt(b, int64(o.FailedEntryCount), 10)
	return append(b, '}')
}
