package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/identity"
)

// marshalReflect is Marshal through encoding/json, as it was written before
// AppendJSON.
func (r *Record) marshalReflect() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// FuzzAppendJSON: a record written by hand is the record encoding/json
// writes, whatever its strings hold.
func FuzzAppendJSON(f *testing.F) {
	f.Add("PutRule", "aws-cli/2 <&>", "\u2028\x00\"\\\xff", `{"name":"r"}`, "AKID", true, uint8(3))
	f.Add("", "", "", ``, "", false, uint8(0))
	f.Add("ListRules", "é", "line\nbreak\ttab", `[1, 2 ,{"a" : null}]`, "", false, uint8(12))
	b, err := NewBuilder(Config{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op, agent, msg, params, key string, readOnly bool, shape uint8) {
		c := Call{Service: "events", Operation: op, AccessKeyID: key, UserAgent: agent, SourceIP: msg,
			RequestID: agent + msg, EventID: msg}
		if shape&1 != 0 {
			c.ErrorCode, c.ErrorMessage = "ValidationException", msg
		}
		if shape&2 != 0 {
			c.Identity = &identity.Principal{Type: identity.TypeAssumedRole, PrincipalID: "AROA:" + msg, ARN: agent,
				AccountID: "123456789012", RoleName: msg, RoleID: agent, SessionName: msg}
		}
		if shape&4 != 0 && json.Valid([]byte(params)) {
			c.Parameters = json.RawMessage(params)
		} else {
			c.Request = []byte(params)
		}
		if shape&8 != 0 && json.Valid([]byte(params)) {
			c.AdditionalEventData = json.RawMessage(params)
		}
		if shape&16 != 0 {
			c.Resources = []Resource{{Type: agent, ARN: msg}, {}}
		}
		rec, ok := b.Build(c)
		if !ok {
			return
		}
		rec.ReadOnly = readOnly
		got, err := rec.Marshal()
		want, wantErr := rec.marshalReflect()
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Marshal error %v, encoding/json's %v", err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal\n got %s\nwant %s", got, want)
		}
	})
}

// journaledOps are operations FuzzRecordFromIntent records: their records
// name resources from the request, or from the response (CreateEventBus,
// CreateConnection), or list several (CreateArchive).
var journaledOps = []string{"PutRule", "DeleteRule", "PutTargets", "CreateEventBus", "CreateConnection", "CreateArchive", "TagResource"}

// FuzzRecordFromIntent: the record made from a call's intent (its intent's
// record with the outcome put in) is the record Build makes of the call,
// byte for byte; and the intent's record is the record of the call with
// its outcome unknown, as a sweep stores it.
func FuzzRecordFromIntent(f *testing.F) {
	f.Add(uint8(0), `{"Name":"orders","EventPattern":"{\"source\":[\"a\"]}"}`, `{"RuleArn":"arn:aws:events:us-east-1:123456789012:rule/orders"}`, "", "", "aws-cli/2 <&>", uint8(0))
	f.Add(uint8(3), `{"Name":"b"}`, `{"EventBusArn":"arn:aws:events:eu-west-1:123456789012:event-bus/b"}`, "ResourceAlreadyExistsException", "Event bus b already exists.", "", uint8(3))
	f.Add(uint8(4), `{"Name":"c","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"k","ApiKeyValue":"secret"}}}`, `{"ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/c/1"}`, "", "", "\u2028\x00", uint8(6))
	f.Fuzz(func(t *testing.T, op uint8, request, response, code, message, agent string, shape uint8) {
		bld, err := NewBuilder(Config{AccountID: "123456789012", Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		j := &Journal{rec: &Recorder{b: bld}}
		c := Call{Service: "events", Operation: journaledOps[int(op)%len(journaledOps)], AccessKeyID: "AKID",
			UserAgent: agent, SourceIP: "127.0.0.1", RequestID: "req-" + agent, EventID: "id-" + agent,
			Request: []byte(request), Time: time.Unix(1764979200, 123456789)}
		if shape&1 != 0 {
			c.Region, c.Account = "eu-west-1", "210987654321"
		}
		if shape&2 != 0 {
			c.Identity = &identity.Principal{Type: identity.TypeAssumedRole, PrincipalID: "AROA:" + agent, ARN: agent,
				AccountID: "123456789012", RoleName: agent, RoleID: "AROA", SessionName: agent}
		}
		if shape&4 != 0 {
			c.UserAgent = strings.Repeat(agent+"x", 2000/(len(agent)+1)) // cut
		}
		note := j.intentOf(c)
		if note == nil {
			t.Fatalf("no intent of %s", c.Operation)
		}
		unknown := c
		unknown.AdditionalEventData = outcomeUnknown
		want, _ := bld.Build(unknown)
		if b, err := want.Marshal(); err != nil || string(b) != string(note.parts.data) {
			t.Fatalf("intent's record\n got %s\nwant %s (%v)", note.parts.data, b, err)
		}
		c.Response, c.ErrorCode, c.ErrorMessage = []byte(response), code, message
		if shape&8 != 0 {
			c.Response = bytes.Repeat([]byte(" "), 10) // not JSON
		}
		if IsAuthenticationFailure(code) {
			return // recorded by Build (Recorder.message)
		}
		want, _ = bld.Build(c)
		wantJSON, err := want.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c.conv, c.intent = note.conv, &note.parts
		if got := bld.outcome(&note.parts, c); string(got) != string(wantJSON) {
			t.Fatalf("record from the intent\n got %s\nwant %s", got, wantJSON)
		}
		if Subject(want) != note.parts.subject {
			t.Fatalf("subject %s, want %s", note.parts.subject, Subject(want))
		}
	})
}

// FuzzAppendRaw checks that appendRaw writes valid JSON as json.Compact
// does: spaces inside strings kept, the others gone.
func FuzzAppendRaw(f *testing.F) {
	for _, s := range []string{`{"a": "b c", "d" : [1, 2]}`, `"x\" y"`, `{"k":"\\\\ "}`, "[\n\t1 ,\r\n2]", `{}`, ` true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || !json.Valid(b) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, b); err != nil {
			t.Fatal(err)
		}
		if got := appendRaw([]byte("x"), b); string(got) != "x"+want.String() {
			t.Fatalf("appendRaw(%q) = %q, want %q", b, got[1:], want.Bytes())
		}
	})
}
