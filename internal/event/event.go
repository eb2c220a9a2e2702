package event

import (
	"github.com/google/uuid"

	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// TimeFormat is the envelope's time format (UTC, whole seconds), e.g. 2024-01-02T03:04:05Z.
const TimeFormat = "2006-01-02T15:04:05Z"

// Version is the envelope version EventBridge writes.
const Version = "0"

// Event is the EventBridge envelope delivered to targets and matched by rules.
type Event struct {
	Version    string          // "0"
	ID         string          // a UUID
	DetailType string          // "detail-type"
	Source     string          // "source"
	Account    string          // "account"
	Time       time.Time       // "time", written in UTC with whole seconds
	Region     string          // "region"
	Resources  []string        // "resources", written as [] when empty
	Detail     json.RawMessage // "detail", a JSON object copied verbatim ({} when empty)
	ReplayName string          // "replay-name", written only when set
}

// AppendJSON appends the envelope as JSON in AWS's field order:
// {"version","id","detail-type","source","account","time","region","resources","detail"[,"replay-name"]}.
func (e *Event) AppendJSON(b []byte) []byte {
	v := e.Version
	if v == "" {
		v = Version
	}
	b = append(b, `{"version":`...)
	b = AppendString(b, v)
	b = append(b, `,"id":`...)
	b = AppendString(b, e.ID)
	b = append(b, `,"detail-type":`...)
	b = AppendString(b, e.DetailType)
	b = append(b, `,"source":`...)
	b = AppendString(b, e.Source)
	b = append(b, `,"account":`...)
	b = AppendString(b, e.Account)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","region":`...)
	b = AppendString(b, e.Region)
	b = append(b, `,"resources":[`...)
	for i, r := range e.Resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, r)
	}
	b = append(b, `],"detail":`...)
	if len(e.Detail) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, e.Detail...)
	}
	if e.ReplayName != "" {
		b = append(b, `,"replay-name":`...)
		b = AppendString(b, e.ReplayName)
	}
	return append(b, '}')
}

// Size returns a close upper estimate of len(AppendJSON(nil)) without encoding (for buffer sizing).
func (e *Event) Size() int {
	n := 130 + len(e.Version) + len(e.ID) + len(e.DetailType) + len(e.Source) + len(e.Account) + len(e.Region) +
		len(e.Detail) + len(e.ReplayName)
	for _, r := range e.Resources {
		n += len(r) + 3
	}
	return n
}

// MarshalJSON implements json.Marshaler with AppendJSON. (json.Marshal of an Event then
// compacts and HTML-escapes the result; hot paths call AppendJSON into a reused buffer.)
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, e.Size())), nil
}

// wireEvent is the envelope's JSON shape for decoding.
type wireEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	ReplayName string          `json:"replay-name"`
}

// UnmarshalJSON decodes an envelope (as AppendJSON writes it, or as AWS delivers it).
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decode event envelope: %w", err)
	}
	var t time.Time
	if w.Time != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, w.Time); err != nil {
			return fmt.Errorf("decode event envelope: time: %w", err)
		}
	}
	if w.Resources == nil {
		w.Resources = []string{}
	}
	*e = Event{Version: w.Version, ID: w.ID, DetailType: w.DetailType, Source: w.Source, Account: w.Account,
		Time: t, Region: w.Region, Resources: w.Resources, Detail: w.Detail, ReplayName: w.ReplayName}
	return nil
}

// Parse decodes an envelope.
func Parse(data []byte) (*Event, error) {
	e := new(Event)
	if err := e.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return e, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. It escapes only what JSON requires (quote,
// backslash, control characters) and replaces invalid UTF-8 with U+FFFD; unlike encoding/json
// it leaves <, > and & alone, as AWS does.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// NewID returns a fresh event id: a random UUID, as EventBridge's ids are.
func NewID() string { return uuid.NewString() }
