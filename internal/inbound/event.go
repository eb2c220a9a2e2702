package inbound

import (
	"github.com/conveyor/conveyor/internal/awsapi"

	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/conveyor/conveyor/internal/event"
)

// wireEvent is an EventBridge event as an API destination sends it (the
// event unchanged, with no input transformer).
type wireEvent struct {
	Version    *string         `json:"version"`
	ID         *string         `json:"id"`
	DetailType *string         `json:"detail-type"`
	Source     *string         `json:"source"`
	Account    *string         `json:"account"`
	Time       *string         `json:"time"`
	Region     *string         `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// maxIDLength bounds a kept event id.
const maxIDLength = 256

// events turns the body, one EventBridge event, into the event stored on
// the bus: its source, detail-type, time, detail, resources, id, account
// and region are kept as they are; missing ones are filled in (a new id,
// Conveyor's account and region, the time of arrival).
func (h *Handler) events(_ string, body []byte) ([]stored, int, *awsapi.Error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return nil, 0, badRequest("The body is not an EventBridge event: want a JSON object with source, detail-type and detail.")
	}
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, 0, badRequest("The body is not an EventBridge event: %s", jsonProblem(err))
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch {
	case str(w.Source) == "":
		return nil, 0, badRequest("The event has no source.")
	case str(w.DetailType) == "":
		return nil, 0, badRequest("The event has no detail-type.")
	case len(str(w.ID)) > maxIDLength:
		return nil, 0, badRequest("The event's id is longer than %d characters.", maxIDLength)
	}
	detail := w.Detail
	if len(detail) == 0 || string(detail) == "null" {
		detail = json.RawMessage("{}")
	} else if !event.ValidDetail(string(detail)) {
		return nil, 0, badRequest("The event's detail is not a JSON object (nested at most %d deep).", event.MaxDetailDepth)
	}
	now := h.cfg.Clock.Now().UTC()
	t := now
	if s := str(w.Time); s != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, 0, badRequest("The event's time %q is not an RFC 3339 timestamp such as 2026-01-02T03:04:05Z.", s)
		}
	}
	ev := &event.Event{
		Version:    str(w.Version),
		ID:         str(w.ID),
		DetailType: *w.DetailType,
		Source:     *w.Source,
		Account:    str(w.Account),
		Time:       t,
		Region:     str(w.Region),
		Resources:  w.Resources,
		Detail:     detail,
	}
	if ev.Version == "" {
		ev.Version = event.Version
	}
	if ev.ID == "" {
		ev.ID = event.NewID()
	}
	if ev.Account == "" {
		ev.Account = h.cfg.Account
	}
	if ev.Region == "" {
		ev.Region = h.cfg.Region
	}
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	data := ev.AppendJSON(make([]byte, 0, ev.Size()))
	if len(data) > MaxEventSize {
		return nil, 0, &awsapi.Error{Code: errTooLarge.Code, Message: "The event is over " + strconv.Itoa(MaxEventSize) + " bytes."}
	}
	return []stored{{id: ev.ID, data: data}}, 0, nil
}

// jsonProblem describes a decoding error without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "a string"
		switch te.Field {
		case "resources":
			want = "an array of strings"
		case "detail":
			want = "an object"
		}
		if te.Field == "" {
			return "the body has the wrong type of value"
		}
		return "field " + te.Field + " must be " + want + ", not a JSON " + te.Value
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error()
	}
	return err.Error()
}
