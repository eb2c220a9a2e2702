package ingest

import (
	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// DecodeJSON reads the usual PutEvents request without reflection
// (awsapi.JSONDecoder): its members of the expected names and types, once
// each, and no Time. Anything else (and every malformed request) it leaves
// to the reflective decoder, which then reads it as before.
func (in *PutEventsInput) DecodeJSON(p *fastjson.Parser, body []byte) bool {
	v, ok := awsapi.ParseUsual(p, body)
	return ok && awsapi.Members(v, func(k []byte, v *fastjson.Value) (uint64, bool) {
		switch string(k) {
		case "Entries":
			var ok bool
			in.Entries, ok = awsapi.UsualObjects(v, (*Entry).member)
			return 1, ok
		case "EndpointId":
			s, ok := awsapi.UsualString(v)
			in.EndpointId = &s
			return 2, ok
		}
		return 0, false
	})
}

// member reads one member of an entry.
func (e *Entry) member(k []byte, v *fastjson.Value) (uint64, bool) {
	var bit uint64
	var dst *string
	switch string(k) {
	case "Source":
		bit, dst = 1, &e.Source
	case "DetailType":
		bit, dst = 2, &e.DetailType
	case "Detail":
		bit, dst = 4, &e.Detail
	case "EventBusName":
		bit, dst = 8, &e.EventBusName
	case "TraceHeader":
		bit, dst = 16, &e.TraceHeader
	case "Resources":
		var ok bool
		e.Resources, ok = awsapi.UsualStrings(v)
		return 32, ok
	default:
		return 0, false
	}
	var ok bool
	*dst, ok = awsapi.UsualString(v)
	return bit, ok
}
