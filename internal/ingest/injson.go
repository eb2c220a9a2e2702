package ingest

import (
	"bytes"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// DecodeJSON reads the usual PutEvents request without reflection
// (awsapi.JSONDecoder): members of the expected names and types, once each,
// strings of valid UTF-8 without \u escapes, no Time. Anything else (and
// every malformed request) it leaves to the reflective decoder, which then
// reads it as before.
func (in *PutEventsInput) DecodeJSON(body []byte) bool {
	// The parser takes what JSON does not (control characters in strings,
	// unknown escapes): the request is checked first.
	if bytes.Contains(body, []byte(`\u`)) || fastjson.ValidateBytes(body) != nil {
		return false
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return false
	}
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok, seen := true, 0
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch {
		case !ok:
		case string(k) == "Entries" && seen&1 == 0:
			seen |= 1
			ok = in.decodeEntries(v)
		case string(k) == "EndpointId" && seen&2 == 0:
			seen |= 2
			var s string
			if s, ok = str(v); ok {
				in.EndpointId = &s
			}
		default:
			ok = false
		}
	})
	return ok
}

func (in *PutEventsInput) decodeEntries(v *fastjson.Value) bool {
	a, err := v.Array()
	if err != nil {
		return false
	}
	in.Entries = make([]Entry, len(a))
	for i, ev := range a {
		o, err := ev.Object()
		if err != nil {
			return false
		}
		e := &in.Entries[i]
		ok, seen := true, 0
		o.Visit(func(k []byte, v *fastjson.Value) {
			if !ok {
				return
			}
			var bit int
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
				bit = 32
			default:
				ok = false
				return
			}
			if seen&bit != 0 {
				ok = false
				return
			}
			seen |= bit
			if dst != nil {
				*dst, ok = str(v)
				return
			}
			ok = e.decodeResources(v)
		})
		if !ok {
			return false
		}
	}
	return true
}

func (e *Entry) decodeResources(v *fastjson.Value) bool {
	a, err := v.Array()
	if err != nil {
		return false
	}
	e.Resources = make([]string, len(a))
	for i, r := range a {
		var ok bool
		if e.Resources[i], ok = str(r); !ok {
			return false
		}
	}
	return true
}

// str is v's string, when it is one of valid UTF-8.
func str(v *fastjson.Value) (string, bool) {
	b, err := v.StringBytes()
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}
