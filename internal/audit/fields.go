package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/jsonscan"
)

// ParseRecordFields decodes the fields of a record that the audit log and
// the event history work with (eventTime, eventSource, eventName,
// awsRegion, eventID, readOnly, managementEvent, recipientAccountId,
// userIdentity but its sessionContext, and resources) and leaves the others
// empty: ParseRecord decodes them all, through reflection, at several times
// the cost. b must be valid JSON (a record as stored, or a value a
// json.Decoder has read); the fields are decoded as encoding/json decodes
// them (keys match without regard to case, the last of a repeated key
// wins, null leaves a field empty, a value of another type is an error).
// hasManagementEvent says whether the record has a managementEvent member.
func ParseRecordFields(b []byte) (rec *Record, hasManagementEvent bool, err error) {
	rec = &Record{}
	s := &fieldScanner{b: b}
	err = s.object(func(key []byte) error {
		// The exact names first (a switch on them costs little), then any
		// spelling encoding/json would match.
		switch string(key) {
		case "eventTime":
			return s.str(&rec.EventTime)
		case "eventSource":
			return s.str(&rec.EventSource)
		case "eventName":
			return s.str(&rec.EventName)
		case "awsRegion":
			return s.str(&rec.AWSRegion)
		case "eventID":
			return s.str(&rec.EventID)
		case "recipientAccountId":
			return s.str(&rec.RecipientAccountID)
		case "readOnly":
			return s.boolean(&rec.ReadOnly)
		case "eventVersion", "sourceIPAddress", "userAgent", "requestParameters", "responseElements",
			"requestID", "eventType", "eventCategory", "tlsDetails", "errorCode", "errorMessage",
			"additionalEventData", "sessionCredentialFromConsole", "vpcEndpointId", "sharedEventID":
			return s.skip()
		}
		switch {
		case bytes.EqualFold(key, []byte("eventTime")):
			return s.str(&rec.EventTime)
		case bytes.EqualFold(key, []byte("eventSource")):
			return s.str(&rec.EventSource)
		case bytes.EqualFold(key, []byte("eventName")):
			return s.str(&rec.EventName)
		case bytes.EqualFold(key, []byte("awsRegion")):
			return s.str(&rec.AWSRegion)
		case bytes.EqualFold(key, []byte("eventID")):
			return s.str(&rec.EventID)
		case bytes.EqualFold(key, []byte("recipientAccountId")):
			return s.str(&rec.RecipientAccountID)
		case bytes.EqualFold(key, []byte("readOnly")):
			return s.boolean(&rec.ReadOnly)
		case bytes.EqualFold(key, []byte("managementEvent")):
			hasManagementEvent = true
			return s.boolean(&rec.ManagementEvent)
		case bytes.EqualFold(key, []byte("userIdentity")):
			rec.UserIdentity = UserIdentity{}
			return s.object(func(key []byte) error {
				id := &rec.UserIdentity
				switch string(key) {
				case "type":
					return s.str(&id.Type)
				case "principalId":
					return s.str(&id.PrincipalID)
				case "arn":
					return s.str(&id.ARN)
				case "accountId":
					return s.str(&id.AccountID)
				case "accessKeyId":
					return s.str(&id.AccessKeyID)
				case "userName":
					return s.str(&id.UserName)
				case "sessionContext", "invokedBy":
					return s.skip()
				}
				switch {
				case bytes.EqualFold(key, []byte("type")):
					return s.str(&id.Type)
				case bytes.EqualFold(key, []byte("principalId")):
					return s.str(&id.PrincipalID)
				case bytes.EqualFold(key, []byte("arn")):
					return s.str(&id.ARN)
				case bytes.EqualFold(key, []byte("accountId")):
					return s.str(&id.AccountID)
				case bytes.EqualFold(key, []byte("accessKeyId")):
					return s.str(&id.AccessKeyID)
				case bytes.EqualFold(key, []byte("userName")):
					return s.str(&id.UserName)
				}
				return s.skip()
			})
		case bytes.EqualFold(key, []byte("resources")):
			rec.Resources = nil
			if s.null() {
				return nil
			}
			rec.Resources = []Resource{}
			return s.array(func() error {
				rec.Resources = append(rec.Resources, Resource{})
				r := &rec.Resources[len(rec.Resources)-1]
				return s.object(func(key []byte) error {
					switch {
					case bytes.EqualFold(key, []byte("type")):
						return s.str(&r.Type)
					case bytes.EqualFold(key, []byte("ARN")):
						return s.str(&r.ARN)
					}
					return s.skip()
				})
			})
		}
		return s.skip()
	})
	if err != nil {
		return nil, false, fmt.Errorf("audit: parse record: %w", err)
	}
	return rec, hasManagementEvent, nil
}

// fieldScanner reads valid JSON, value by value.
type fieldScanner struct {
	b []byte
	i int
}

var errNotJSON = errors.New("unexpected JSON")

func (s *fieldScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the next value's first byte (0 at the end).
func (s *fieldScanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// null consumes a null, if the next value is one.
func (s *fieldScanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += len("null")
		return true
	}
	return false
}

// object reads an object (or null), calling member for each member with
// the scanner at the member's value, which member must consume.
func (s *fieldScanner) object(member func(key []byte) error) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return fmt.Errorf("%w: want an object at offset %d", errNotJSON, s.i)
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return fmt.Errorf("%w: want a key at offset %d", errNotJSON, s.i)
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return fmt.Errorf("%w: want ':' at offset %d", errNotJSON, s.i)
		}
		s.i++
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or '}' at offset %d", errNotJSON, s.i)
		}
	}
}

// array reads an array (or null), calling elem with the scanner at each
// element, which elem must consume.
func (s *fieldScanner) array(elem func() error) error {
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return fmt.Errorf("%w: want an array at offset %d", errNotJSON, s.i)
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or ']' at offset %d", errNotJSON, s.i)
		}
	}
}

// rawString reads a string and returns its text as written (escapes
// unresolved) but for a string with escapes or bytes that are not UTF-8,
// which is decoded.
func (s *fieldScanner) rawString() ([]byte, error) {
	start := s.i
	j, fl := jsonscan.String(s.b, start+1)
	if j < 0 {
		return nil, fmt.Errorf("%w: unterminated string at offset %d", errNotJSON, start)
	}
	s.i = j + 1
	if body := s.b[start+1 : j]; fl&jsonscan.Escape == 0 && (fl&jsonscan.High == 0 || utf8.Valid(body)) {
		return body, nil
	}
	var v string
	if err := json.Unmarshal(s.b[start:j+1], &v); err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// str reads a string (or null) into v.
func (s *fieldScanner) str(v *string) error {
	if s.null() {
		return nil
	}
	if s.peek() != '"' {
		return fmt.Errorf("%w: want a string at offset %d", errNotJSON, s.i)
	}
	b, err := s.rawString()
	if err != nil {
		return err
	}
	*v = string(b)
	return nil
}

// boolean reads a boolean (or null) into v.
func (s *fieldScanner) boolean(v *bool) error {
	if s.null() {
		return nil
	}
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		*v = true
		s.i += len("true")
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		*v = false
		s.i += len("false")
	default:
		return fmt.Errorf("%w: want a boolean at offset %d", errNotJSON, s.i)
	}
	return nil
}

// skip reads past one value of any kind.
func (s *fieldScanner) skip() error {
	switch s.peek() {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return fmt.Errorf("%w: unterminated value", errNotJSON)
	case 0:
		return fmt.Errorf("%w: missing value at offset %d", errNotJSON, s.i)
	default: // a number, true, false or null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

// skipString reads past a string, escapes and all.
func (s *fieldScanner) skipString() error {
	j := jsonscan.Skip(s.b, s.i+1)
	if j < 0 {
		return fmt.Errorf("%w: unterminated string at offset %d", errNotJSON, s.i)
	}
	s.i = j + 1
	return nil
}
