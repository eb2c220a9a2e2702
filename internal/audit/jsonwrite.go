package audit

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/jsonscan"
)

// The call path (see Journal.Intend and Recorder.Commit) writes JSON by hand:
// encoding/json's reflection costs several microseconds a record. What is
// written here is byte for byte what encoding/json writes with HTML escaping
// off (the tests compare the two).

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json escapes
// it without HTML escaping: quotes, backslashes and control characters
// escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString[S []byte | string](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// What needs no escape is copied whole, found a word at a time.
		if i = jsonscan.Plain(s, i); i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendRaw appends a json.RawMessage as encoding/json does: null when
// empty, else compacted (it must be valid JSON; Build only makes valid
// ones).
func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return appendCompact(dst, raw)
}

// appendConverted is appendRaw for the converter's output (recordJSON's),
// which is compact already.
func appendConverted(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

// appendCompact appends b, valid JSON, without the whitespace between its
// tokens: what lies between such whitespace (strings and their spaces
// included) is copied whole.
func appendCompact(dst, b []byte) []byte {
	start := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// To the string's closing quote, past escaped characters.
			if i = jsonscan.Skip(b, i+1); i < 0 {
				i = len(b)
			}
		case ' ', '\t', '\n', '\r':
			dst = append(dst, b[start:i]...)
			start = i + 1
		}
	}
	return append(dst, b[start:]...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendMember appends ,"name":"value" (the comma unless first).
func appendMember(dst []byte, name, value string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, value)
}

// AppendJSON appends the record as Marshal writes it.
func (r *Record) AppendJSON(dst []byte) []byte {
	var m recordMarks
	return r.appendJSON(dst, &m)
}

// recordMarks are where, in a record's JSON, the parts that its call's
// outcome decides go (see recordParts): outcome is where errorCode and
// errorMessage go (after userAgent), response where ,"responseElements"
// starts, ids where ,"requestID" starts, resources where the resources go
// (after readOnly), tail where ,"eventType" starts.
type recordMarks struct{ outcome, response, ids, resources, tail int }

// appendJSON is AppendJSON, noting where the outcome's parts go in m.
func (r *Record) appendJSON(dst []byte, m *recordMarks) []byte {
	dst = append(dst, `{"eventVersion":`...)
	dst = appendString(dst, r.EventVersion)
	dst = append(dst, `,"userIdentity":`...)
	dst = r.UserIdentity.appendJSON(dst)
	dst = appendMember(dst, "eventTime", r.EventTime, false)
	dst = appendMember(dst, "eventSource", r.EventSource, false)
	dst = appendMember(dst, "eventName", r.EventName, false)
	dst = appendMember(dst, "awsRegion", r.AWSRegion, false)
	dst = appendMember(dst, "sourceIPAddress", r.SourceIPAddress, false)
	dst = appendMember(dst, "userAgent", r.UserAgent, false)
	m.outcome = len(dst)
	dst = appendOutcome(dst, r.ErrorCode, r.ErrorMessage)
	dst = append(dst, `,"requestParameters":`...)
	if r.converted {
		dst = appendConverted(dst, r.RequestParameters)
	} else {
		dst = appendRaw(dst, r.RequestParameters)
	}
	m.response = len(dst)
	dst = append(dst, `,"responseElements":`...)
	if r.converted {
		dst = appendConverted(dst, r.ResponseElements)
	} else {
		dst = appendRaw(dst, r.ResponseElements)
	}
	if len(r.AdditionalEventData) > 0 {
		dst = append(dst, `,"additionalEventData":`...)
		dst = appendRaw(dst, r.AdditionalEventData)
	}
	m.ids = len(dst)
	dst = appendMember(dst, "requestID", r.RequestID, false)
	dst = appendMember(dst, "eventID", r.EventID, false)
	dst = append(dst, `,"readOnly":`...)
	dst = appendBool(dst, r.ReadOnly)
	m.resources = len(dst)
	dst = appendResources(dst, r.Resources)
	m.tail = len(dst)
	dst = appendMember(dst, "eventType", r.EventType, false)
	dst = append(dst, `,"managementEvent":`...)
	dst = appendBool(dst, r.ManagementEvent)
	dst = appendMember(dst, "recipientAccountId", r.RecipientAccountID, false)
	dst = appendMember(dst, "eventCategory", r.EventCategory, false)
	return append(dst, '}')
}

// appendOutcome appends a record's errorCode and errorMessage members,
// those that are not empty.
func appendOutcome(dst []byte, code, message string) []byte {
	if code != "" {
		dst = appendMember(dst, "errorCode", code, false)
	}
	if message != "" {
		dst = appendMember(dst, "errorMessage", message, false)
	}
	return dst
}

// appendResources appends a record's resources member, unless it has none.
func appendResources(dst []byte, resources []Resource) []byte {
	if len(resources) == 0 {
		return dst
	}
	dst = append(dst, `,"resources":[`...)
	for i, res := range resources {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMember(append(dst, '{'), "type", res.Type, true)
		dst = append(appendMember(dst, "ARN", res.ARN, false), '}')
	}
	return append(dst, ']')
}

func (id *UserIdentity) appendJSON(dst []byte) []byte {
	dst = appendMember(append(dst, '{'), "type", id.Type, true)
	for _, m := range [...]struct{ name, value string }{{"principalId", id.PrincipalID}, {"arn", id.ARN},
		{"accountId", id.AccountID}, {"accessKeyId", id.AccessKeyID}, {"userName", id.UserName}} {
		if m.value != "" {
			dst = appendMember(dst, m.name, m.value, false)
		}
	}
	if sc := id.SessionContext; sc != nil {
		is := &sc.SessionIssuer
		dst = append(dst, `,"sessionContext":{"sessionIssuer":`...)
		dst = appendMember(append(dst, '{'), "type", is.Type, true)
		dst = appendMember(dst, "principalId", is.PrincipalID, false)
		dst = appendMember(dst, "arn", is.ARN, false)
		dst = appendMember(dst, "accountId", is.AccountID, false)
		dst = appendMember(dst, "userName", is.UserName, false)
		dst = append(dst, "}}"...)
	}
	return append(dst, '}')
}
